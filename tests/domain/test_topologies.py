"""The three DR topologies as the wizard describes them."""

from __future__ import annotations

import dataclasses

from kdrtui.domain.plan import Topology
from kdrtui.domain.topologies import TOPOLOGIES, TopologyInfo, topology_info


def test_three_topologies_in_the_wizards_order() -> None:
    assert [info.topology for info in TOPOLOGIES] == [
        Topology.HOT_STANDBY,
        Topology.COLD_STANDBY,
        Topology.ACTIVE_ACTIVE,
    ]
    assert all(topology_info(info.topology) is info for info in TOPOLOGIES)


def test_every_string_fits_an_80_column_table() -> None:
    for info in TOPOLOGIES:
        for item in dataclasses.fields(TopologyInfo):
            value = getattr(info, item.name)
            if isinstance(value, Topology):
                continue
            assert value and "\n" not in value, (info.topology, item.name)
            # A row of label + value; the sentence gets a line of its own.
            limit = 78 if item.name == "sentence" else 48
            assert len(value) <= limit, (info.topology, item.name, value)


def test_the_source_documents_errors_are_corrected() -> None:
    hot, cold, active = TOPOLOGIES
    # Hot standby: dual ingest, nothing mirrored, RPO about zero, both clusters fully sized.
    assert "both" in hot.sentence and "nothing is mirrored" in hot.sentence
    assert hot.rpo.startswith("~0") and "Highest" in hot.cost
    assert "No MirrorMaker" in hot.runs_where and "both clusters" in hot.apps_must
    # Cold standby: scheduled batches, RPO = interval + a batch, the cheapest (not "High").
    assert "scheduled batches" in cold.sentence
    assert "interval" in cold.rpo and "batch" in cold.rpo
    assert "Higher" in cold.rto and "Lowest" in cold.cost
    # Active-active: both ways, prefixed names, RPO = mirror lag, RTO lowest.
    assert "each into the other" in active.sentence
    assert "lag" in active.rpo.lower() and "Lowest" in active.rto
    assert "prefixed" in active.apps_must

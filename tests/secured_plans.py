"""Plans that get a secured lab wrong, one way per cluster, and the one line kdrtui must say for each.

``credentials.toml``: primary with a wrong password, dr with a CA that did not sign the brokers'
certificates. ``protocol.toml``: primary PLAINTEXT (no ``[security]`` table), dr with its password in an
environment variable that is not set. The plans are saved, never loaded here: a test's own clients keep
connecting as the lab's plan says until the test loads one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trustme

from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.domain.security import ClusterSecurity
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.plan_files import save_plan

Change = Callable[[ClusterSecurity], ClusterSecurity | None]
"""A cluster's ``[security]`` table -> the wrong one (None: PLAINTEXT)."""


def wrong_plan(lab: Lab, path: Path, primary: Change, dr: Change) -> Path:
    """The lab's plan with each cluster's ``[security]`` changed, saved at ``path``."""
    base = parse_plan(lab.plan_path.read_text(encoding="utf-8"), str(lab.plan_path))
    clusters = dict(base.clusters)
    for alias, change in ((PRIMARY, primary), (DR, dr)):
        security = clusters[alias].security
        assert security is not None, f"{lab.plan_path}: {alias} is not secured"
        clusters[alias] = clusters[alias].model_copy(update={"security": change(security)})
    save_plan(Plan.model_validate(base.model_copy(update={"clusters": clusters}).model_dump()), path)
    return path


@dataclass(frozen=True)
class WrongPlans:
    """The two wrong plans and what kdrtui says for each of their clusters."""

    credentials: Path
    protocol: Path
    wrong_password: str
    """The wrong password ``credentials`` names: it must not turn up anywhere either."""
    unset: str
    """The environment variable ``protocol`` names for dr's password (never set)."""
    reasons: dict[tuple[Path, str], str]
    """(plan, alias) -> the reason, as the Overview card, ``status`` and the pre-flight word it (a failed
    connection's line goes on with what failed, in parentheses)."""

    def unset_alias(self, plan: Path) -> str | None:
        """The cluster of ``plan`` whose password cannot be read (no connection was tried), if any."""
        return DR if plan == self.protocol else None


def wrong_plans(lab: Lab, where: Path) -> WrongPlans:
    """Write both wrong plans (and the wrong password and CA they name) under ``where``."""
    password = f"wrong-{secrets.token_hex(8)}"
    password_file = where / "wrong.password"
    password_file.write_text(password + "\n", encoding="utf-8")
    other_ca = where / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    unset = f"KDRTUI_TEST_UNSET_{secrets.token_hex(4).upper()}"
    credentials = wrong_plan(
        lab,
        where / "credentials.toml",
        lambda s: s.model_copy(update={"password_file": str(password_file)}),
        lambda s: s.model_copy(update={"ca_file": str(other_ca)}),
    )
    protocol = wrong_plan(
        lab,
        where / "protocol.toml",
        lambda s: None,
        lambda s: s.model_copy(update={"password_file": None, "password_env": unset}),
    )
    reasons = {
        (credentials, PRIMARY): "SASL authentication failed for user 'admin' (SCRAM-SHA-512): wrong user "
        "name or password",
        (credentials, DR): "SSL handshake failed: certificate verify failed: the broker's certificate is not "
        f"signed by a CA in ca_file {other_ca}",
        (protocol, PRIMARY): "the broker closed the connection at its first request: it expects another "
        "security protocol than PLAINTEXT (TLS or SASL?): check the cluster's [security] table",
        (protocol, DR): f"the SASL password of 'admin' (password_env): the environment variable {unset} "
        "is not set",
    }
    return WrongPlans(credentials, protocol, password, unset, reasons)

"""``kdrtui lab client-config``: a client configuration for the lab's own users.

Prints what a Kafka client needs to reach a lab cluster as ``admin``, ``app`` or ``mirrormaker``: librdkafka
keys as JSON (confluent-kafka, kcat) or Java client properties (Kafka's own tools, ``--command-config``).
These are lab credentials, made by ``kdrtui lab up --security ...`` and living in the lab's 0600 files;
this command never prints anything of a real cluster's.
"""

from __future__ import annotations

import json

import click

from kdrtui.commands.lab_common import lab_errors
from kdrtui.lab.lab import ALIASES, Lab
from kdrtui.lab.security import USERS


@click.command("client-config")
@click.argument("cluster", type=click.Choice(ALIASES))
@click.option("--user", type=click.Choice(USERS), default="admin", show_default=True, help="The lab user.")
@click.option(
    "--format",
    "shape",
    type=click.Choice(["json", "properties"]),
    default="json",
    show_default=True,
    help="json: librdkafka keys; properties: Java client properties.",
)
def client_config_command(cluster: str, user: str, shape: str) -> None:
    """Print a client config for a lab CLUSTER as one of the lab's users (lab credentials only)."""
    with lab_errors():
        lab = Lab()
        security = lab.security
        if security.mode != "plaintext" and not security.ca_file.exists():
            raise click.ClickException(
                "the lab's security files are not there yet: run `kdrtui lab up` first"
            )
        if shape == "json":
            settings = {"bootstrap.servers": lab.bootstrap(cluster)} | security.client_settings(user)
            click.echo(json.dumps(settings, indent=2))
            return
        properties = {"bootstrap.servers": lab.bootstrap(cluster)} | security.java_properties(user)
        click.echo(f"# kdrtui lab: {cluster} as {user} ({security.mode}); lab credentials only")
        for key, value in properties.items():
            click.echo(f"{key}={value}")

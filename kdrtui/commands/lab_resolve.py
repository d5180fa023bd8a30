"""``kdrtui lab resolve <fqdn>``: what a name in the emulator's Private DNS zones resolves to, and the lab
broker a client dials for each address (see :mod:`kdrtui.lab.resolve`)."""

from __future__ import annotations

import json

import click

from kdrtui import settings


@click.command("resolve")
@click.argument("fqdn")
@click.option("--json", "as_json", is_flag=True, help="Print name, addresses, TTL and lab bootstrap as JSON.")
def resolve_command(fqdn: str, as_json: bool) -> None:
    """Resolve FQDN in the Azure emulator's Private DNS zones (A records, CNAMEs followed) and print the
    lab broker behind each private IP: what a lab client bootstrapping by that name dials."""
    from kdrtui.lab import resolve

    home = settings.lab_azure_dir()
    try:
        answer = resolve.resolve(home, fqdn)
        brokers = resolve.broker_addresses(home)
    except resolve.ResolveError as exc:
        raise click.ClickException(str(exc)) from None
    lab = {ip: brokers.get(ip) for ip in answer.addresses}
    if as_json:
        data = {
            "name": answer.name,
            "cnames": answer.chain,
            "addresses": answer.addresses,
            "ttl": answer.ttl,
            "lab": lab,
            "bootstrap": ",".join(a for a in lab.values() if a) or None,
        }
        click.echo(json.dumps(data, indent=2))
        return
    for name in answer.chain:
        click.echo(f"{name} CNAME")
    for ip, where in lab.items():
        click.echo(
            f"{answer.name} A {ip} (TTL {answer.ttl} s) -> {where or 'no emulated broker has this IP'}"
        )
    if not answer.addresses:
        click.echo(f"{answer.name}: the record holds no address")

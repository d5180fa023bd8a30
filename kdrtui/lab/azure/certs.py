"""The emulator's TLS: a ``trustme`` CA (``ca.pem``) and a server certificate for IP 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

from kdrtui.lab.edge_files import write_private


def ensure_certificates(home: Path) -> tuple[Path, Path]:
    """Make ``ca.pem`` and ``server.pem`` (key + chain, 0600) once; return their paths.

    The CA's own key is not kept: nothing else is ever signed with it.
    """
    ca_file, server_file = home / "ca.pem", home / "server.pem"
    if ca_file.exists() and server_file.exists():
        return ca_file, server_file
    import trustme

    home.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="kdrtui lab Azure emulator")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_tmp = ca_file.with_name("ca.pem.tmp")
    ca.cert_pem.write_to_path(str(ca_tmp))
    write_private(server_file, cert.private_key_and_cert_chain_pem.bytes())
    os.replace(ca_tmp, ca_file)
    return ca_file, server_file

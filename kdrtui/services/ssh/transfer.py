"""SFTP transfers for :class:`~kdrtui.services.ssh.session.EdgeSession`: atomic uploads, text reads."""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncssh

#: Bytes per write; asyncssh pipelines each write as several SFTP requests.
CHUNK = 256 * 1024
#: The mode an upload's temporary file is created with (a secret's final mode: never changed after).
CREATE_MODE = 0o600


def sftp_path(path: str) -> str:
    """``path`` as SFTP takes it: ``~/x`` becomes ``x`` (SFTP starts in the login directory)."""
    if path == "~":
        return "."
    return path[2:] if path.startswith("~/") else path


class Progress:
    """How far a file operation got: whether it has changed anything on the node yet."""

    def __init__(self) -> None:
        self.wrote = False


async def _chunks(source: bytes | Path) -> AsyncIterator[bytes]:
    if isinstance(source, Path):
        with open(source, "rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        return
    view = memoryview(source)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


async def _replace(sftp: asyncssh.SFTPClient, src: str, dst: str) -> None:
    """Rename ``src`` over ``dst`` atomically (OpenSSH's posix-rename extension where offered)."""
    import asyncssh

    try:
        await sftp.posix_rename(src, dst)
    except asyncssh.SFTPOpUnsupported:
        # Plain SFTPv3 rename refuses an existing target: remove it first (not atomic, but rare).
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await sftp.remove(dst)
        await sftp.rename(src, dst)


async def upload(
    sftp: asyncssh.SFTPClient,
    source: bytes | Path,
    remote_path: str,
    *,
    mode: int,
    progress: Callable[[int, int], None] | None,
    stage: Progress,
) -> None:
    """Write ``source`` to a temporary name beside ``remote_path``, then rename it into place."""
    import asyncssh

    parent, name = posixpath.split(remote_path)
    if not name:
        raise ValueError(f"not a file path: {remote_path!r}")
    parent = parent or "."
    total = source.stat().st_size if isinstance(source, Path) else len(source)
    if not await sftp.isdir(parent):
        await sftp.makedirs(parent, exist_ok=True)
    tmp = posixpath.join(parent, f".{name}.{secrets.token_hex(4)}.tmp")
    stage.wrote = True
    sent = 0
    try:
        async with sftp.open(tmp, "wb", asyncssh.SFTPAttrs(permissions=CREATE_MODE)) as fh:
            if progress is not None:
                progress(0, total)
            async for chunk in _chunks(source):
                await fh.write(chunk)
                sent += len(chunk)
                if progress is not None:
                    progress(sent, total)
            with contextlib.suppress(asyncssh.SFTPOpUnsupported):
                await fh.fsync()
        if mode != CREATE_MODE:
            await sftp.chmod(tmp, mode)
        await _replace(sftp, tmp, remote_path)
    except BaseException:
        # Best effort: on a dead link the temporary file stays behind (hidden, never read).
        with contextlib.suppress(asyncssh.Error, OSError):
            await sftp.remove(tmp)
        raise


async def make_dir(sftp: asyncssh.SFTPClient, remote_path: str, *, mode: int, stage: Progress) -> None:
    """Make directory ``remote_path`` (and its parents) created with ``mode``; an existing one gets
    ``mode`` too (before anything private is written into it)."""
    import asyncssh

    parent = posixpath.dirname(remote_path.rstrip("/"))
    if parent and not await sftp.isdir(parent):
        stage.wrote = True
        await sftp.makedirs(parent, exist_ok=True)
    if not await sftp.isdir(remote_path):
        stage.wrote = True
        await sftp.mkdir(remote_path, asyncssh.SFTPAttrs(permissions=mode))
    attrs = await sftp.stat(remote_path)
    if attrs.permissions is not None and attrs.permissions & 0o7777 != mode:
        stage.wrote = True
        await sftp.chmod(remote_path, mode)


async def read_text(sftp: asyncssh.SFTPClient, remote_path: str) -> str | None:
    """The file's text (UTF-8, undecodable bytes replaced), None if it does not exist."""
    import asyncssh

    try:
        async with sftp.open(remote_path, "rb") as fh:
            data = await fh.read()
    except asyncssh.SFTPNoSuchFile:
        return None
    raw = data if isinstance(data, bytes) else data.encode()
    return raw.decode("utf-8", errors="replace")

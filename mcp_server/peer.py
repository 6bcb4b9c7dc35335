"""Only the daemon's owner uses the daemon: the uid of each loopback connection's peer is
checked once, when the connection is made, before a byte of the request is read.

Why the peer's uid and not a token in every harness config: harnesses send their own API key
headers (a token would have to replace the user's key in eight file formats, and a missed one
would fail closed for the owner), while the kernel knows who owns the other end of a loopback
socket. On Linux that is a lookup in /proc/net/tcp{,6}: the client's socket is the row whose
local address is our peer and whose remote address is us; its uid column is its owner. Other
systems have no such table here: there the check is off and README says so.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import struct
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any, cast

log = logging.getLogger("brainrouter.peer")
_TABLES = {socket.AF_INET: Path("/proc/net/tcp"), socket.AF_INET6: Path("/proc/net/tcp6")}
_REFUSAL = b"this brainrouter daemon serves only its owner's processes (server.allowed_uids)\n"


def supported() -> bool:
    return sys.platform.startswith("linux") and _TABLES[socket.AF_INET].exists()


def _hex_address(host: str, port: int, family: int) -> str:
    """An address as /proc/net/tcp prints it: 32-bit words in host byte order, then the port."""
    packed = ipaddress.ip_address(host).packed
    if family == socket.AF_INET6 and len(packed) == 4:
        packed = ipaddress.IPv6Address(f"::ffff:{host}").packed
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def peer_uid(sock: socket.socket) -> int | None:
    """The uid owning the other end of a loopback TCP or Unix socket; None if unknown."""
    if sock.family == socket.AF_UNIX:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    if sock.family not in _TABLES:
        return None
    ours, theirs = sock.getsockname(), sock.getpeername()
    # Their socket's row: local address = them, remote address = us.
    needle = (
        f"{_hex_address(theirs[0], theirs[1], sock.family)} "
        f"{_hex_address(ours[0], ours[1], sock.family)} "
    )
    try:
        table = _TABLES[sock.family].read_text()
    except OSError:
        return None
    start = table.find(needle)
    if start == -1:
        return None
    fields = table[start : table.find("\n", start)].split()
    # local rem st tx:rx tr:when retrnsmt uid ...
    return int(fields[6]) if len(fields) > 6 and fields[6].isdigit() else None


def is_loopback_peer(sock: socket.socket) -> bool:
    if sock.family == socket.AF_UNIX:
        return True
    try:
        address = ipaddress.ip_address(sock.getpeername()[0])
    except (OSError, ValueError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


class Peers:
    """The uid behind each open loopback connection, by the client's (host, port): what a
    request handler asks to know who is asking (a review runs only on what they may read)."""

    def __init__(self) -> None:
        self._uids: dict[tuple[str, int], int] = {}

    def add(self, address: tuple[str, int], uid: int) -> None:
        self._uids[address] = uid

    def remove(self, address: tuple[str, int]) -> None:
        self._uids.pop(address, None)

    def uid_of(self, client: Any) -> int | None:
        """The uid of a request's client (`scope["client"]`), if it is a local process."""
        if not client:
            return None
        return self._uids.get((str(client[0]), int(client[1])))


def owner_only(
    protocol_class: type[asyncio.Protocol], allowed: Collection[int], peers: Peers | None = None
) -> Any:
    """Wrap uvicorn's HTTP protocol class: a loopback connection from a process of another uid
    gets a 403 and is closed before its request is read. Remote connections (a daemon bound
    beyond loopback) are left to the admin token."""
    allowed_uids = frozenset(allowed)

    class OwnerOnly(protocol_class):  # type: ignore[valid-type,misc]
        _peer: tuple[str, int] | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # uvicorn's state stays whole either way
            sock = transport.get_extra_info("socket")
            if sock is None or not is_loopback_peer(sock):
                return
            uid = peer_uid(sock)
            if uid is not None and uid in allowed_uids:
                if peers is not None and sock.family != socket.AF_UNIX:
                    host, port = sock.getpeername()[:2]
                    self._peer = (str(host), int(port))
                    peers.add(self._peer, uid)
                return
            log.warning("refused a connection from uid %s (allowed: %s)", uid, sorted(allowed))
            # uvloop's transports are not asyncio.Transport subclasses, but write the same.
            cast(asyncio.Transport, transport).write(
                b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n"
                b"content-length: " + str(len(_REFUSAL)).encode() + b"\r\n\r\n" + _REFUSAL
            )
            transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if peers is not None and self._peer is not None:
                peers.remove(self._peer)
            super().connection_lost(exc)

    return OwnerOnly


def http_protocol(allowed: Collection[int], peers: Peers | None = None) -> Any:
    """uvicorn's own HTTP protocol class (httptools or h11), owner-only where supported."""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    base = import_from_string(HTTP_PROTOCOLS["auto"])
    if not supported():
        log.warning(
            "cannot see the uid of loopback peers on this system: any local user may connect"
        )
        return base
    return owner_only(base, allowed, peers)


def default_uids() -> list[int]:
    return [os.getuid()]

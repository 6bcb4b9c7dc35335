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


_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = (0xFFFFFFFF, 0xFFFFFFFF)
_UID_OFFSET = 16 + 64  # nlmsghdr, then inet_diag_msg's family..id, expires, queues


def _diag_uid(family: int, theirs: tuple[str, int], ours: tuple[str, int]) -> int | None:
    """Ask the kernel (sock_diag) who owns the TCP socket at `theirs` connected to `ours`."""

    def address(host: str) -> bytes:
        return socket.inet_pton(family, host).ljust(16, b"\0")

    sockid = (
        struct.pack("!HH", theirs[1], ours[1])
        + address(theirs[0])
        + address(ours[0])
        + struct.pack("=III", 0, *_NO_COOKIE)
    )
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + sockid
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as link:
        link.settimeout(1.0)
        link.sendto(header + request, (0, 0))
        answer = link.recv(65536)
    if len(answer) < _UID_OFFSET + 4 or struct.unpack_from("=H", answer, 4)[0] == _NLMSG_ERROR:
        return None
    return int(struct.unpack_from("=I", answer, _UID_OFFSET)[0])


def peer_uid(sock: socket.socket) -> int | None:
    """The uid owning the other end of a loopback TCP or Unix socket; None if unknown."""
    if sock.family == socket.AF_UNIX:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    if sock.family not in _TABLES:
        return None
    ours, theirs = sock.getsockname(), sock.getpeername()
    try:
        return _diag_uid(sock.family, theirs[:2], ours[:2])
    except OSError:
        pass  # no netlink here (a container may forbid it): read the table instead
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

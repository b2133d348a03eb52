"""The listening socket of ``townhall serve --workers N`` turns Nagle's algorithm off on every
connection: asyncio sets ``TCP_NODELAY`` only on sockets that say they are TCP, and
uvicorn's own ``bind_socket`` leaves the protocol at 0 (each small answer on a kept-alive
connection then waited ~40 ms for the peer's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from townhall.web.server import tcp_listener


async def _nodelay_of_accepted(listener: socket.socket) -> int:
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Report, sock=listener)
    try:
        host, port = listener.getsockname()[:2]
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


def _bound() -> socket.socket:
    config = uvicorn.Config("townhall.web.server:app_from_environment", host="127.0.0.1", port=0)
    return config.bind_socket()


def test_listener_says_it_is_tcp() -> None:
    sock = tcp_listener(_bound())
    try:
        assert sock.family == socket.AF_INET
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_accepted_connections_have_nodelay() -> None:
    sock = tcp_listener(_bound())
    assert asyncio.run(_nodelay_of_accepted(sock)) != 0


def test_other_sockets_are_left_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        unix.bind(str(tmp_path / "s"))
        assert tcp_listener(unix) is unix
    finally:
        unix.close()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        assert tcp_listener(tcp) is tcp
    finally:
        tcp.close()

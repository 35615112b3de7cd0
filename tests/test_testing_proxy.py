"""The fault proxy passes bytes, holds them in a black hole (sockets open), and resets."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from sheetsync.testing_proxy import Mode, TcpProxy


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A server on 127.0.0.1 that sends back whatever it receives."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(ConnectionError):  # the proxy's RESET reaches here too
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[TcpProxy]:
    made = TcpProxy(echo)
    yield made
    made.close()


def client(proxy: TcpProxy) -> socket.socket:
    conn = socket.create_connection(proxy.address, timeout=2)
    conn.settimeout(2)
    return conn


def test_pass_forwards_both_ways(proxy: TcpProxy) -> None:
    """In PASS mode the proxy is invisible."""
    with client(proxy) as conn:
        conn.sendall(b"hello")
        assert conn.recv(100) == b"hello"


def test_blackhole_holds_bytes_with_the_socket_open_until_healed(proxy: TcpProxy) -> None:
    """A partition: nothing arrives, nothing closes; healed, the held bytes flow."""
    with client(proxy) as conn:
        conn.sendall(b"before")
        assert conn.recv(100) == b"before"
        proxy.set_mode(Mode.BLACKHOLE)
        conn.sendall(b"during")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(100)  # no answer, and no EOF either: the socket stays open
        assert proxy.connections == 1
        proxy.set_mode(Mode.PASS)
        conn.settimeout(2)
        assert conn.recv(100) == b"during"


def test_a_connection_opened_in_the_blackhole_waits_for_healing(proxy: TcpProxy) -> None:
    """New connections are accepted but lead nowhere until the partition heals."""
    proxy.set_mode(Mode.BLACKHOLE)
    with client(proxy) as conn:
        conn.sendall(b"knock")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(100)
        proxy.set_mode(Mode.PASS)
        conn.settimeout(2)
        assert conn.recv(100) == b"knock"


def test_reset_breaks_open_and_new_connections(proxy: TcpProxy) -> None:
    """RESET: open connections get an RST; new ones are reset as they arrive."""
    with client(proxy) as conn:
        conn.sendall(b"x")
        assert conn.recv(10) == b"x"
        proxy.set_mode(Mode.RESET)
        with pytest.raises(ConnectionResetError):
            conn.recv(10)
    with pytest.raises(ConnectionResetError), client(proxy) as conn:  # may reset at connect
        conn.sendall(b"y")
        conn.recv(10)

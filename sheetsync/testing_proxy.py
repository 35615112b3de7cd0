"""A loopback TCP proxy for fault tests: pass bytes, black-hole them, or reset connections.

Put it in front of PostgreSQL (or any server on 127.0.0.1) and switch its mode while a
test runs:

    PASS       bytes flow both ways
    BLACKHOLE  a true partition: sockets stay open, bytes are held (not read, not sent)
               and new connections are accepted but not connected onward; back in PASS,
               what was held flows again, as TCP would retransmit it after a partition
    RESET      every open connection is reset (RST), and new ones too

One thread serves every socket with `selectors`; `close()` stops it.
"""

from __future__ import annotations

import enum
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, field

CHUNK = 65536


class Mode(enum.Enum):
    """What the proxy does with the traffic."""

    PASS = "pass"
    BLACKHOLE = "blackhole"
    RESET = "reset"


@dataclass
class _Pair:
    """One client connection and its upstream (None until connected)."""

    client: socket.socket
    upstream: socket.socket | None = None
    pending: dict[socket.socket, bytearray] = field(default_factory=dict)


class TcpProxy:
    """Listens on 127.0.0.1 (an ephemeral port) and forwards to `target`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._mode = Mode.PASS
        self._pairs: list[_Pair] = []
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect."""
        return ("127.0.0.1", self.port)

    @property
    def connections(self) -> int:
        """Open client connections."""
        with self._lock:
            return len(self._pairs)

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; takes effect at once (RESET resets every open connection)."""
        with self._lock:
            self._mode = mode
        self._wake_w.send(b"x")

    def close(self) -> None:
        """Stop serving and close every socket."""
        self._stop.set()
        self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        for pair in self._pairs:
            _close(pair)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the serving thread ------------------------------------------------------------
    def _serve(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        while not self._stop.is_set():
            with self._lock:
                mode = self._mode
            self._apply(mode)
            busy = any(p.pending for p in self._pairs)  # unsent bytes: come back soon
            for key, _ in self._selector.select(timeout=0.01 if busy else 0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._wake_r:
                    sock.recv(CHUNK)
                elif sock is self._listener:
                    self._accept(mode)
                elif mode is Mode.PASS:
                    self._pump(sock)

    def _apply(self, mode: Mode) -> None:
        """Make the sockets' registrations match the mode."""
        for pair in list(self._pairs):
            if mode is Mode.RESET:
                self._drop(pair, reset=True)
                continue
            if mode is Mode.PASS and pair.upstream is None:
                self._connect(pair)
            for sock in (pair.client, pair.upstream):
                if sock is not None:
                    self._watch(sock, reading=mode is Mode.PASS)
            if mode is Mode.PASS:
                for sock, data in list(pair.pending.items()):
                    self._send(pair, sock, data)

    def _accept(self, mode: Mode) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        pair = _Pair(client)
        with self._lock:
            self._pairs.append(pair)
        if mode is Mode.RESET:
            self._drop(pair, reset=True)
        elif mode is Mode.PASS:
            self._connect(pair)

    def _connect(self, pair: _Pair) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            self._drop(pair, reset=True)
            return
        pair.client.setblocking(False)
        upstream.setblocking(False)
        pair.upstream = upstream

    def _watch(self, sock: socket.socket, *, reading: bool) -> None:
        registered = self._known(sock)
        if reading and not registered:
            self._selector.register(sock, selectors.EVENT_READ)
        elif not reading and registered:
            self._selector.unregister(sock)

    def _known(self, sock: socket.socket) -> bool:
        try:
            self._selector.get_key(sock)
        except KeyError:
            return False
        return True

    def _pump(self, sock: socket.socket) -> None:
        pair = next((p for p in self._pairs if sock in (p.client, p.upstream)), None)
        if pair is None or pair.upstream is None:
            return
        other = pair.upstream if sock is pair.client else pair.client
        try:
            data = sock.recv(CHUNK)
        except OSError:
            data = b""
        if not data:
            self._drop(pair, reset=False)
            return
        self._send(pair, other, bytearray(data))

    def _send(self, pair: _Pair, sock: socket.socket, data: bytearray) -> None:
        """Send what the socket takes now (after what waits already); keep the rest."""
        if sock in pair.pending and data is not pair.pending[sock]:
            data = pair.pending[sock] + data
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(pair, reset=False)
            return
        rest = data[sent:]
        if rest:
            pair.pending[sock] = rest
        else:
            pair.pending.pop(sock, None)

    def _drop(self, pair: _Pair, *, reset: bool) -> None:
        for sock in (pair.client, pair.upstream):
            if sock is not None and self._known(sock):
                self._selector.unregister(sock)
        _close(pair, reset=reset)
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)


def _close(pair: _Pair, *, reset: bool = False) -> None:
    for sock in (pair.client, pair.upstream):
        if sock is None:
            continue
        if reset:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

"""Network faults between an instance and PostgreSQL, through the loopback proxy."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.protocol import Change, LeaseEvent
from sheetsync.adapters.store.settings import TEST_TIMINGS
from sheetsync.adapters.store.units import plain_units
from sheetsync.errors import LeaseLostError, StoreError, StoreReason
from sheetsync.testing_proxy import Mode, TcpProxy

NOW = datetime(2025, 1, 1, tzinfo=UTC)
UNITS = plain_units({"a": "S1"})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def proxied(pg_url: str, proxy: TcpProxy) -> str:
    name = pg_url.rpartition("/")[2]
    return f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}"


def test_a_reset_connection_is_an_error_with_a_reason_and_the_pool_heals(pg_url: str) -> None:
    """RESET: the call in progress fails as UNREACHABLE; after healing the store works."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    store = PostgresStore(proxied(pg_url, proxy), UNITS, timings=TEST_TIMINGS)
    try:
        store.open()
        store.acquire()
        proxy.set_mode(Mode.RESET)
        with pytest.raises(StoreError) as failed:
            store.entries("a", NOW)
        assert failed.value.reason is StoreReason.UNAVAILABLE
        proxy.set_mode(Mode.PASS)
        store.claim("a", [("r1", "fp", "Scrape")], NOW)
        assert list(store.entries("a", NOW)) == ["r1"]
    finally:
        store.close()
        proxy.close()


def test_a_partitioned_holder_stops_trusting_and_never_commits_its_old_epoch(
    pg_url: str,
) -> None:
    """Black-holed, A's renewal hangs and its local trust runs out; B takes over when the
    database says the lease ended; healed, A learns it lost and every write it tries
    with its old epoch is refused."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    clock = Clock()
    a = PostgresStore(proxied(pg_url, proxy), UNITS, timings=TEST_TIMINGS, clock=clock)
    b = PostgresStore(pg_url, UNITS, timings=TEST_TIMINGS)
    try:
        a.open()
        b.open()
        a.acquire()
        epoch = a.held()["S1"]
        proxy.set_mode(Mode.BLACKHOLE)
        renewed: list[LeaseEvent] = []
        renewal = threading.Thread(target=lambda: renewed.extend(a.renew()))
        renewal.start()
        clock.now += TEST_TIMINGS.lease  # A's clock: trust is over, renewal or not
        assert not a.trusted("S1")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("UPDATE leases SET expires_at = now() - interval '1 second'")
        assert [e.change for e in b.acquire()] == [Change.ACQUIRED]
        b.claim("a", [("r1", "fp", "Scrape")], NOW)
        proxy.set_mode(Mode.PASS)
        renewal.join(timeout=10)
        assert [(e.change, e.epoch) for e in renewed] == [(Change.LOST, epoch)]
        with pytest.raises(LeaseLostError):
            a.fenced("S1", epoch).__enter__()
        with psycopg.connect(pg_url) as conn:
            epochs = conn.execute("SELECT DISTINCT epoch FROM rows").fetchall()
        assert epochs == [(epoch + 1,)]
    finally:
        a.close()
        b.close()
        proxy.close()


@pytest.mark.parametrize("last", ["execute", "executemany"])
def test_a_partitioned_open_transaction_does_not_hold_up_the_takeover(
    pg_url: str, last: str
) -> None:
    """A is black-holed with a fenced transaction open (its COMMIT never arrives; the
    server's socket stays open, as in a real partition until TCP keepalives give up, hours
    by default). The server ends that idle transaction after a third of the lease, so B's
    takeover (which waits for it: FOR KEY SHARE) goes through instead of hanging its lease
    thread; A's late COMMIT fails. After an `executemany` the server's timer is off (see
    `pg_takeover`): B's takeover times out, ends the stalled session, and the next round
    takes the unit."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    a = PostgresStore(proxied(pg_url, proxy), UNITS, timings=TEST_TIMINGS)
    b = PostgresStore(pg_url, UNITS, timings=TEST_TIMINGS)
    try:
        a.open()
        b.open()
        a.acquire()
        epoch = a.held()["S1"]
        open_transaction = a.fenced("S1", epoch)
        conn = open_transaction.__enter__()
        if last == "executemany":
            conn.cursor().executemany("SELECT %s", [(1,), (2,)])
        else:
            conn.execute("SELECT 1")
        proxy.set_mode(Mode.BLACKHOLE)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("UPDATE leases SET expires_at = now() - interval '1 second'")
        taken: list[LeaseEvent] = []

        def poll() -> None:  # as B's lease thread does
            while not taken:
                taken.extend(b.acquire())
                time.sleep(TEST_TIMINGS.acquire)

        takeover = threading.Thread(target=poll, daemon=True)
        takeover.start()
        takeover.join(timeout=TEST_TIMINGS.lease * 1.5)
        stuck = takeover.is_alive()
        proxy.set_mode(Mode.PASS)
        with pytest.raises(StoreError):
            open_transaction.__exit__(None, None, None)
        takeover.join(timeout=10)
        assert not stuck
        assert [(e.change, e.epoch) for e in taken] == [(Change.ACQUIRED, epoch + 1)]
    finally:
        proxy.set_mode(Mode.PASS)
        a.close()
        b.close()
        proxy.close()

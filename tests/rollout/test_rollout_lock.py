"""Two rollouts taking the lock at once, against one store of server metadata
that behaves as Nova's does (a write replaces the item: the last write wins;
no compare-and-set). The interleavings are played step by step, then with
threads through `acquire`; in every one, at most one rollout proceeds, and the
one that does not names the holder."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest

from stoker.cloud.connection import Cloud, Timings
from stoker.cloud.errors import RefusedError
from stoker.rollout import lock as locks

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc)
SERVERS = {"tracker": SimpleNamespace(id="srv-tracker"), "bastion": SimpleNamespace(id="srv-bastion")}


class Compute:
    """openstacksdk's compute calls the lock uses, on metadata in memory.
    `before` (optional) runs before each write and after each read:
    (call name, server id, the lock value written) -> None."""

    def __init__(self, server_ids):
        self.metadata = {sid: {"stoker_vm": sid} for sid in server_ids}
        self.guard = threading.Lock()
        self.before = None

    def _hook(self, call, sid, value=None):
        if self.before:
            self.before(call, sid, value)

    def get_server(self, sid):
        with self.guard:
            server = SimpleNamespace(id=sid, metadata=dict(self.metadata[sid]))
        self._hook("got", sid)  # after the read: a barrier here holds what was read
        return server

    def set_server_metadata(self, sid, **items):
        self._hook("set", sid, items.get(locks.META_LOCK))
        with self.guard:
            self.metadata[sid].update(items)

    def delete_server_metadata(self, sid, keys):
        self._hook("delete", sid)
        with self.guard:
            for key in keys:
                self.metadata[sid].pop(key)


def _cloud(compute, settle=0.0, sleep=lambda s: None) -> Cloud:
    return Cloud(SimpleNamespace(compute=compute), "fake", Timings(lock_settle=settle, retries=0), sleep)


def _two_locks(same_id: bool = True):
    """Two rollouts started in the same second: the same start time and, in
    the worst case, even the same rollout id; only their tokens differ."""
    a = locks.new_lock("20261201T030000Z-abcdef", 240, NOW, owner="alice@laptop")
    b = locks.new_lock("20261201T030000Z-abcdef" if same_id else "20261201T030000Z-123456", 240, NOW,
                       owner="bob@desktop")
    assert a.token != b.token
    return a, b


def _holder(compute, sid):
    return locks.read_lock(compute.metadata[sid])


@pytest.mark.parametrize("same_id", [True, False])
def test_both_see_free_both_write_the_later_write_wins(same_id):
    compute = Compute(["srv-tracker", "srv-bastion"])
    cloud = _cloud(compute)
    a, b = _two_locks(same_id)
    # both check before either writes: both see "free"
    assert locks.check(cloud, SERVERS, a, False, NOW) == []
    assert locks.check(cloud, SERVERS, b, False, NOW) == []
    locks.write(cloud, SERVERS, a)
    locks.write(cloud, SERVERS, b)          # replaces a's lock on every server
    with pytest.raises(RefusedError) as lost:
        locks.verify(cloud, SERVERS, a)
    assert "holds it: rollout 20261201T030000Z-" in lost.value.detail and "by bob@desktop" in lost.value.detail
    assert lost.value.step == "lock"
    locks.verify(cloud, SERVERS, b)          # b proceeds
    assert all(_holder(compute, s.id) == b for s in SERVERS.values())
    # b's own deploys go on; a's (and a plain deploy) are refused by the re-check
    meta = compute.metadata["srv-tracker"]
    assert locks.held_by_other(meta, b, NOW) is None
    assert locks.held_by_other(meta, a, NOW) == b
    assert locks.held_by_other(meta, None, NOW) == b


def test_the_order_of_the_writes_decides_not_who_checked_first():
    compute = Compute(["srv-tracker"])
    cloud = _cloud(compute)
    servers = {"tracker": SERVERS["tracker"]}
    a, b = _two_locks()
    locks.check(cloud, servers, a, False, NOW)
    locks.check(cloud, servers, b, False, NOW)
    locks.write(cloud, servers, b)
    locks.write(cloud, servers, a)
    locks.verify(cloud, servers, a)
    with pytest.raises(RefusedError, match="by alice@laptop"):
        locks.verify(cloud, servers, b)
    assert _holder(compute, "srv-tracker") == a


def test_a_writer_that_checked_before_us_and_writes_during_our_wait_wins():
    """The settle wait: b read "free" before a wrote, and writes after a's
    write but before a reads back. a sees b's lock and stops; b proceeds."""
    compute = Compute(["srv-tracker", "srv-bastion"])
    a, b = _two_locks(same_id=False)
    cloud_b = _cloud(compute)
    locks.check(cloud_b, SERVERS, b, False, NOW)      # b: free
    waited = []

    def a_waits(seconds):
        waited.append(seconds)
        locks.write(cloud_b, SERVERS, b)              # b writes while a waits
    cloud_a = _cloud(compute, settle=3.0, sleep=a_waits)
    with pytest.raises(RefusedError, match="by bob@desktop"):
        locks.acquire(cloud_a, SERVERS, a, False, NOW)
    assert waited == [3.0]
    locks.verify(cloud_b, SERVERS, b)
    assert all(_holder(compute, s.id) == b for s in SERVERS.values())


def test_split_servers_both_stop_and_leave_no_lock_of_theirs():
    """a's write stands on one server, b's on the other: neither holds all, neither proceeds."""
    compute = Compute(["srv-tracker", "srv-bastion"])
    cloud = _cloud(compute)
    a, b = _two_locks()
    locks.check(cloud, SERVERS, a, False, NOW)
    locks.check(cloud, SERVERS, b, False, NOW)
    locks.put(cloud, "tracker", "srv-tracker", a)
    locks.put(cloud, "tracker", "srv-tracker", b)
    locks.put(cloud, "bastion", "srv-bastion", b)
    locks.put(cloud, "bastion", "srv-bastion", a)
    proceeded = []
    for lock in (a, b):
        try:
            locks.verify(cloud, SERVERS, lock)
            proceeded.append(lock.owner)
        except RefusedError:
            pass
    assert proceeded == []
    assert _holder(compute, "srv-tracker") is None and _holder(compute, "srv-bastion") is None


@pytest.mark.parametrize("servers", [["tracker"], ["tracker", "bastion"]])
def test_two_threads_through_acquire_only_one_proceeds(servers):
    """Two rollouts started in the same second, each in its own thread: both
    read "free" (a barrier holds the first reads until both have read), then
    both write, then both read back."""
    chosen = {vm: SERVERS[vm] for vm in servers}
    compute = Compute([s.id for s in chosen.values()])
    reads_done = threading.Barrier(2, timeout=10)
    writes_done = threading.Barrier(2, timeout=10)
    first_reads = {}

    def before(call, sid, value):
        who = threading.current_thread().name
        if call == "got" and first_reads.setdefault(who, 0) < len(chosen):
            first_reads[who] += 1
            if first_reads[who] == len(chosen):
                reads_done.wait()
    compute.before = before
    a, b = _two_locks()
    outcome = {}

    def take(lock):
        cloud = _cloud(compute, settle=1.0, sleep=lambda s: writes_done.wait())
        try:
            locks.acquire(cloud, chosen, lock, False, NOW)
            outcome[lock.owner] = "proceeds"
        except RefusedError as exc:
            outcome[lock.owner] = exc.detail
    threads = [threading.Thread(target=take, args=(lock,), name=lock.owner) for lock in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert set(outcome) == {"alice@laptop", "bob@desktop"}, outcome
    winners = [who for who, what in outcome.items() if what == "proceeds"]
    assert len(winners) <= 1
    if len(chosen) == 1:
        assert len(winners) == 1, "one server: the later write wins"
        loser = ({"alice@laptop", "bob@desktop"} - set(winners)).pop()
        assert f"by {winners[0]}" in outcome[loser]
        assert _holder(compute, "srv-tracker").owner == winners[0]
    for s in chosen.values():  # no loser's lock is left behind
        held = _holder(compute, s.id)
        assert held is None or held.owner in winners


def test_an_expired_lock_or_break_lock_is_taken_and_verified(monkeypatch):
    compute = Compute(["srv-tracker"])
    cloud = _cloud(compute)
    servers = {"tracker": SERVERS["tracker"]}
    old = locks.new_lock("20261130T000000Z-000000", 1, NOW - dt.timedelta(hours=1), owner="carol@old")
    locks.put(cloud, "tracker", "srv-tracker", old)
    a, _ = _two_locks()
    notes = locks.acquire(cloud, servers, a, False, NOW)
    assert notes == [f"tracker: took over the expired lock of {old.describe()}"]
    assert _holder(compute, "srv-tracker") == a
    live = locks.new_lock("20261201T020000Z-999999", 240, NOW, owner="dave@ops")
    locks.put(cloud, "tracker", "srv-tracker", live)
    with pytest.raises(RefusedError, match="locked by rollout 20261201T020000Z-999999 by dave@ops"):
        locks.acquire(cloud, servers, a, False, NOW)
    assert _holder(compute, "srv-tracker") == live, "refused before writing anything"
    assert "--break-lock" in locks.acquire(cloud, servers, a, True, NOW)[0]


def test_a_lock_written_before_tokens_existed_still_reads_and_counts_as_held():
    value = '{"id":"20261130T230000Z-abcdef","owner":"alice@ops-laptop","started":"2026-11-30T23:00:00Z",' \
            '"expires":"2999-01-01T00:00:00Z"}'
    held = locks.held_by_other({locks.META_LOCK: value}, None, NOW)
    assert held.owner == "alice@ops-laptop" and held.token == ""


def test_rollouts_started_in_one_second_keep_their_order():
    import datetime as dt
    from stoker.rollout.record import new_id
    t0 = dt.datetime(2026, 12, 1, 10, 58, 26, 999, tzinfo=dt.timezone.utc)
    ids = [new_id(t0 + dt.timedelta(microseconds=n)) for n in range(50)]
    assert sorted(ids) == ids

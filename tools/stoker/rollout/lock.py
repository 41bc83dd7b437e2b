"""One rollout at a time: a lock kept in the cloud, as server metadata.

The lock is the metadata item `stoker_rollout_lock` on every existing server
the rollout changes; its value is a compact JSON object (Nova limits a
metadata value to 255 characters):

    {"id": "<rollout id>", "owner": "user@host", "started": "2026-12-01T03:00:00Z",
     "expires": "2026-12-01T07:00:00Z", "token": "<12 random hex digits>"}

Kept in the cloud, not in state/, so an operator on another machine sees it.
`stoker rollout` and `stoker deploy`/`rollback` refuse a server whose lock is
held by another rollout and not expired, naming the holder; `--break-lock`
takes it over. A rebuild keeps the item (stoker.cloud.state.server_metadata).
A server that does not exist yet cannot carry a lock: the rollout puts it on
the new server right after the create.

Taking it (`acquire`). Nova has no compare-and-set: writing an item replaces
it, the last write wins. So a lock is taken in three steps:

1. check: read every server afresh; another live lock refuses (before
   anything is written), unless it expired or `--break-lock`;
2. write our lock (its `token` is ours alone) on every server;
3. verify: wait `settle` seconds, read every server back, and go on only if
   each carries our lock exactly. A rollout whose lock was overwritten lost:
   it removes its lock where it is still there and is refused, naming the
   rollout that holds it.

Two rollouts that both saw "free" in step 1 both write; the later write stands
on a server and the earlier writer sees it in step 3 and stops. The wait
covers a writer that checked before our write but wrote after it: its write
lands within the wait as long as its own check-to-write takes less than
`settle` (a read and a write; Timings.lock_settle, 3 s by default). If the two
split a set of servers between them, both stop; nobody proceeds on a lock it
does not hold. Each deploy then re-reads its server and refuses a lock that
is not ours (stoker.cloud.cli.check_lock).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from ..cloud.errors import RefusedError
from ..cloud.state import META_LOCK

_FMT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Lock:
    id: str
    owner: str
    started: str
    expires: str
    token: str = field(default_factory=lambda: secrets.token_hex(6))  # this lock's own, random

    def value(self) -> str:
        return json.dumps({"id": self.id, "owner": self.owner, "started": self.started, "expires": self.expires,
                           "token": self.token}, separators=(",", ":"))

    def expired(self, now: dt.datetime) -> bool:
        try:
            return dt.datetime.strptime(self.expires, _FMT).replace(tzinfo=dt.timezone.utc) <= now
        except ValueError:
            return False  # an expiry stoker cannot read is not taken as expired

    def describe(self) -> str:
        return f"rollout {self.id} by {self.owner}, started {self.started}, expires {self.expires}"


def operator() -> str:
    """user@host of whoever runs stoker (the name is recorded, never a secret)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:80]


def new_lock(rollout_id: str, minutes: int, now: dt.datetime, owner: str | None = None) -> Lock:
    """A lock for `minutes` from `now`; the owner is cut to 80 characters so the value fits Nova's 255."""
    return Lock(rollout_id, (owner or operator())[:80], now.strftime(_FMT),
                (now + dt.timedelta(minutes=minutes)).strftime(_FMT))


def read_lock(metadata: dict | None) -> Lock | None:
    """The lock in a server's metadata; a value stoker cannot parse still counts
    as held (by "unknown"), so it is never ignored silently."""
    raw = (metadata or {}).get(META_LOCK)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Lock(str(data["id"]), str(data["owner"]), str(data["started"]), str(data["expires"]),
                    str(data.get("token", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return Lock("?", f"unknown (unreadable {META_LOCK} {raw[:60]!r})", "?", "?", "?")


def held_by_other(metadata: dict | None, own: Lock | None, now: dt.datetime) -> Lock | None:
    """The lock that stops `own` (None: not a rollout, e.g. `stoker deploy`)
    from changing this server. A lock is ours only when all of it is: the
    same rollout id with another token is another lock."""
    lock = read_lock(metadata)
    if lock is None or lock == own or lock.expired(now):
        return None
    return lock


def refusal(vm: str, server: str | None, lock: Lock, command: str) -> RefusedError:
    return RefusedError(f"server is locked by {lock.describe()}", vm=vm, server=server, step="lock",
                        hint=f"wait for that rollout to end (`stoker history {vm}` shows it once recorded), or, "
                             f"if it is dead, take the lock over: {command} --break-lock")


def acquire(cloud, servers: dict[str, object], lock: Lock, break_lock: bool, now: dt.datetime,
            command: str = "stoker rollout", settle: float | None = None,
            sleep: Callable[[float], None] | None = None) -> list[str]:
    """Take `lock` on `servers` ({vm: server with .id}): check, write, wait
    `settle` seconds (default: cloud.timings.lock_settle), verify (see the
    module docstring). Refuses (RefusedError) before writing anything when
    another live lock is on any of them and `break_lock` is false, and after
    writing when another rollout's lock replaced ours on any of them (ours is
    then removed where it still is). Returns notes (locks broken or found
    expired)."""
    notes = check(cloud, servers, lock, break_lock, now, command)
    write(cloud, servers, lock)
    if settle is None:
        settle = getattr(getattr(cloud, "timings", None), "lock_settle", 0.0)
    if settle > 0:
        (sleep or getattr(cloud, "sleep", None) or time.sleep)(settle)
    verify(cloud, servers, lock, command)
    return notes


def _fresh(cloud, vm: str, server_id: str):
    return cloud.call("read lock", lambda: cloud.conn.compute.get_server(server_id), vm=vm, server=server_id)


def check(cloud, servers: dict[str, object], lock: Lock, break_lock: bool, now: dt.datetime,
          command: str = "stoker rollout") -> list[str]:
    """Step 1: read each server afresh; refuse on another live lock unless `break_lock`."""
    notes = []
    for vm, server in servers.items():
        other = read_lock(_fresh(cloud, vm, server.id).metadata)
        if other is None or other == lock:
            continue
        if other.expired(now):
            notes.append(f"{vm}: took over the expired lock of {other.describe()}")
        elif break_lock:
            notes.append(f"{vm}: broke the lock of {other.describe()} (--break-lock)")
        else:
            raise refusal(vm, server.id, other, command)
    return notes


def write(cloud, servers: dict[str, object], lock: Lock) -> None:
    """Step 2: our lock on each server (the last write to a server wins)."""
    for vm, server in servers.items():
        put(cloud, vm, server.id, lock)


def verify(cloud, servers: dict[str, object], lock: Lock, command: str = "stoker rollout") -> None:
    """Step 3: every server carries our lock exactly, or we lost: our lock is
    removed where it is still there, and the refusal names the holder."""
    lost = None
    for vm, server in servers.items():
        held = read_lock(_fresh(cloud, vm, server.id).metadata)
        if held != lock and lost is None:
            lost = (vm, server.id, held)
    if lost is None:
        return
    release(cloud, {vm: server.id for vm, server in servers.items()}, lock)
    vm, server_id, held = lost
    if held is None:
        raise RefusedError("the lock written by this rollout was removed by someone else before it was read "
                           "back", vm=vm, server=server_id, step="lock",
                           hint=f"another rollout or an operator is working on {vm}; "
                                f"`stoker history {vm}` may say who; try again later")
    raise RefusedError(f"another rollout took the lock at the same time and holds it: {held.describe()}",
                       vm=vm, server=server_id, step="lock",
                       hint=f"let that rollout run (`stoker history {vm}` shows it once recorded), then try again; "
                            f"nothing was changed by this one")


def put(cloud, vm: str, server_id: str, lock: Lock) -> None:
    cloud.call("set lock", lambda: cloud.conn.compute.set_server_metadata(server_id, **{META_LOCK: lock.value()}),
               vm=vm, server=server_id)


def release(cloud, servers: dict[str, str], lock: Lock) -> list[str]:
    """Remove `lock` from the servers ({vm: server id}) that still carry it; a
    server whose lock another rollout took over keeps that one. Returns the
    VMs whose lock could not be removed (the expiry frees them)."""
    left = []
    for vm, server_id in servers.items():
        try:
            fresh = cloud.call("read lock", lambda s=server_id: cloud.conn.compute.get_server(s), vm=vm,
                               server=server_id)
            held = read_lock(fresh.metadata)
            if held is not None and held == lock:
                cloud.call("release lock", lambda s=server_id: cloud.conn.compute.delete_server_metadata(
                    s, [META_LOCK]), vm=vm, server=server_id)
        except Exception:  # the rollout's outcome matters more; the expiry releases it
            left.append(vm)
    return left

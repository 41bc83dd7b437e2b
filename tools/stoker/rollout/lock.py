"""One rollout at a time: a lock kept in the cloud, as server metadata.

The lock is the metadata item `stoker_rollout_lock` on every existing server
the rollout changes; its value is a compact JSON object (Nova limits a
metadata value to 255 characters):

    {"id": "<rollout id>", "owner": "user@host", "started": "2026-12-01T03:00:00Z",
     "expires": "2026-12-01T07:00:00Z"}

Kept in the cloud, not in state/, so an operator on another machine sees it.
`stoker rollout` and `stoker deploy`/`rollback` refuse a server whose lock is
held by another rollout and not expired, naming the holder; `--break-lock`
takes it over. A rebuild keeps the item (stoker.cloud.state.server_metadata).
A server that does not exist yet cannot carry a lock: the rollout puts it on
the new server right after the create.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
from dataclasses import dataclass

from ..cloud.errors import RefusedError
from ..cloud.state import META_LOCK

_FMT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Lock:
    id: str
    owner: str
    started: str
    expires: str

    def value(self) -> str:
        return json.dumps({"id": self.id, "owner": self.owner, "started": self.started, "expires": self.expires},
                          separators=(",", ":"))

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
        return Lock(str(data["id"]), str(data["owner"]), str(data["started"]), str(data["expires"]))
    except (ValueError, KeyError, TypeError):
        return Lock("?", f"unknown (unreadable {META_LOCK} {raw[:60]!r})", "?", "?")


def held_by_other(metadata: dict | None, own_id: str | None, now: dt.datetime) -> Lock | None:
    """The lock that stops `own_id` (None: not a rollout, e.g. `stoker deploy`) from changing this server."""
    lock = read_lock(metadata)
    if lock is None or lock.id == own_id or lock.expired(now):
        return None
    return lock


def refusal(vm: str, server: str | None, lock: Lock, command: str) -> RefusedError:
    return RefusedError(f"server is locked by {lock.describe()}", vm=vm, server=server, step="lock",
                        hint=f"wait for that rollout to end (`stoker history {vm}` shows it once recorded), or, "
                             f"if it is dead, take the lock over: {command} --break-lock")


def acquire(cloud, servers: dict[str, object], lock: Lock, break_lock: bool, now: dt.datetime,
            command: str = "stoker rollout") -> list[str]:
    """Put `lock` on `servers` ({vm: server with .id and .metadata}), each read
    afresh. Refuses (RefusedError, before writing anything) when another live
    lock is on any of them and `break_lock` is false. Returns notes (locks
    broken or found expired)."""
    notes = []
    current = {}
    for vm, server in servers.items():
        fresh = cloud.call("read lock", lambda s=server: cloud.conn.compute.get_server(s.id), vm=vm, server=server.id)
        current[vm] = fresh
        other = read_lock(fresh.metadata)
        if other is None or other.id == lock.id:
            continue
        if other.expired(now):
            notes.append(f"{vm}: took over the expired lock of {other.describe()}")
        elif break_lock:
            notes.append(f"{vm}: broke the lock of {other.describe()} (--break-lock)")
        else:
            raise refusal(vm, server.id, other, command)
    for vm, server in current.items():
        put(cloud, vm, server.id, lock)
    return notes


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
            if held is not None and held.id == lock.id:
                cloud.call("release lock", lambda s=server_id: cloud.conn.compute.delete_server_metadata(
                    s, [META_LOCK]), vm=vm, server=server_id)
        except Exception:  # the rollout's outcome matters more; the expiry releases it
            left.append(vm)
    return left

"""One row per VM: what runs in the cloud and whether it matches the build."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .connection import Cloud, find_or_none
from .state import META_IGNITION, META_SHA, META_TIME, META_VERSION, META_VM
from .placement import Placement


@dataclass
class StatusRow:
    vm: str
    server: str            # name (id prefix), or "-" when absent
    status: str
    address: str
    deployed_sha: str | None
    build_sha: str | None
    drift: str             # in sync | drift | not deployed | no build | unrecorded | not stoker's | no placement
    deployed_at: str
    ignition: str
    stoker_version: str
    volume: str            # name and state of the data volume, "-" when the VM has none


def _addresses(server) -> str:
    found = [a.get("addr") for nets in (server.addresses or {}).values() for a in nets if a.get("addr")]
    return ", ".join(found) or "-"


def drift_of(deployed: str | None, build: str | None, exists: bool) -> str:
    if not exists:
        return "not deployed"
    if build is None:
        return "no build"
    if deployed is None:
        return "unrecorded"
    return "in sync" if deployed == build else "drift"


def _find_volume(cloud: Cloud, placement: Placement):
    if placement.volume is None:
        return None
    name = placement.volume.name
    return cloud.call("find volume", lambda: find_or_none(cloud.conn.block_storage.find_volume, name),
                      vm=placement.vm)


def _volume_state(placement: Placement, volume, server_id: str | None) -> str:
    if placement.volume is None:
        return "-"
    name = placement.volume.name
    if volume is None:
        return f"{name}: missing"
    holders = [a.get("server_id") for a in volume.attachments or []]
    if not holders:
        return f"{name}: detached"
    return f"{name}: attached" if server_id in holders else f"{name}: attached elsewhere"


def _build_sha(build_file: Path, placement: Placement, volume) -> str | None:
    """The sha256 of the config a deploy of build_file would send: bound to the
    data volume's serial when the volume exists (stoker.volumes), as deployed."""
    if not build_file.exists():
        return None
    raw = build_file.read_bytes()
    if volume is not None:
        from ..volumes import bind_serial

        try:
            raw = bind_serial(raw, placement.volume.name, volume.id)
        except ValueError:
            pass
    return hashlib.sha256(raw).hexdigest()


def vm_status(cloud: Cloud, placement: Placement, build_file: Path) -> StatusRow:
    vm = placement.vm
    volume = _find_volume(cloud, placement)
    build_sha = _build_sha(build_file, placement, volume)
    server = cloud.call("find server", lambda: find_or_none(cloud.conn.compute.find_server, placement.server_name),
                        vm=vm)
    if server is None:
        return StatusRow(vm, "-", "absent", placement.address, None, build_sha,
                         drift_of(None, build_sha, False), "-", "-", "-", _volume_state(placement, volume, None))
    server = cloud.call("read server", lambda: cloud.conn.compute.get_server(server.id), vm=vm, server=server.id)
    meta = server.metadata or {}
    deployed = meta.get(META_SHA)
    drift = drift_of(deployed, build_sha, True) if meta.get(META_VM) == vm else "not stoker's"
    return StatusRow(vm, f"{server.name} ({server.id[:8]})", server.status, _addresses(server), deployed, build_sha,
                     drift, meta.get(META_TIME, "-"), meta.get(META_IGNITION, "-"),
                     meta.get(META_VERSION, "-"), _volume_state(placement, volume, server.id))


def unplaced_row(vm: str, build_dir: Path) -> StatusRow:
    """A VM defined in vms/ that the placement does not list: it has no server to read."""
    build = build_dir / f"{vm}.ign"
    build_sha = hashlib.sha256(build.read_bytes()).hexdigest() if build.exists() else None
    return StatusRow(vm, "-", "no placement", "-", None, build_sha, "no placement", "-", "-", "-", "-")


def fleet_status(placements: list[Placement], cloud_for: Callable[[str], Cloud], build_dir: Path) -> list[StatusRow]:
    return [vm_status(cloud_for(p.cloud), p, build_dir / f"{p.vm}.ign") for p in placements]

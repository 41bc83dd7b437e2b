"""State a rebuild loses: what the config's containers write on the root disk.

A rebuild replaces the root disk from the image (Compute API reference,
"Rebuild Server"); only attached volumes survive. So every place a container
mounts read-write that is neither on a kept data filesystem nor short-lived
is state the rebuild throws away:
- a host directory on the root disk (`-v /var/lib/app:/data`, Quadlet
  `Volume=/var/lib/app:/data`, `--mount type=bind,source=…`), above all one
  the config itself creates for the container;
- a named Podman volume (`-v name:/data`, Quadlet `Volume=name.volume:/data`),
  kept under /var/lib/containers/storage/volumes on the root disk, unless its
  Quadlet .volume file puts it on a device of its own or binds a kept path.

Not state: read-only mounts (`ro`, `readonly`), overlay mounts (`O`: writes
go to a throwaway layer), anonymous volumes, tmpfs; paths under /run, /tmp,
/var/tmp, /dev, /proc, /sys and /usr (read-only on Fedora CoreOS); files the
config itself writes (their contents come back with every rebuild). Mount
syntax: podman-run(1) --volume and --mount; podman-systemd.unit(5) Volume=,
Mount= ([Container], [Pod]) and the [Volume] section's Device=, Type=, Options=.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .config import data_devices, effective_config
from .containers import QuadletFile, quadlet_files, run_commands
from .diff import _units

SHORT_LIVED = ("/run", "/var/run", "/tmp", "/var/tmp", "/dev", "/proc", "/sys", "/usr")


@dataclass(frozen=True)
class Loss:
    what: str          # a host path, or "podman volume NAME"
    container: str
    target: str        # where the container sees it
    defined_in: str    # the Quadlet file or unit that mounts it
    created: bool      # a directory the config itself creates

    def line(self) -> str:
        made = ", a directory the config creates on the root disk" if self.created else ""
        return f"{self.what} (container {self.container} writes it at {self.target}; {self.defined_in}{made})"


@dataclass(frozen=True)
class _Mount:
    source: str        # "" for an anonymous volume
    target: str
    writable: bool
    kind: str          # bind | volume | other


def _parse_volume(value: str) -> _Mount | None:
    """-v / Volume=: [[SOURCE:]TARGET[:OPTIONS]]."""
    parts = value.strip().strip("\"'").split(":")
    if len(parts) == 1:
        return _Mount("", parts[0], True, "volume")
    source, target = parts[0], parts[1]
    options = {o.strip() for o in ":".join(parts[2:]).split(",")} if len(parts) > 2 else set()
    writable = not ({"ro", "O"} & options)
    return _Mount(source, target, writable, "bind" if source.startswith(("/", ".")) else "volume")


def _parse_mount(value: str) -> _Mount | None:
    """--mount / Mount=: type=bind|volume|tmpfs|…,source=…,destination=…[,ro|readonly[=true]]."""
    fields: dict[str, str] = {}
    for item in value.strip().strip("\"'").split(","):
        key, _, val = item.partition("=")
        fields[key.strip().lower()] = val.strip().lower() if key.strip().lower() in ("ro", "readonly", "rw") \
            else val.strip()
    kind = fields.get("type", "volume")
    if kind not in ("bind", "volume"):
        return _Mount("", "", False, "other")
    readonly = any(k in fields and fields[k] in ("", "true", "1") for k in ("ro", "readonly")) \
        or fields.get("rw") in ("false", "0")
    source = fields.get("source") or fields.get("src") or ""
    target = fields.get("destination") or fields.get("dst") or fields.get("target") or ""
    return _Mount(source, target, not readonly, kind)


def _mounts(values_v: list[str], values_mount: list[str]) -> list[_Mount]:
    out = [m for m in map(_parse_volume, values_v) if m]
    out += [m for m in map(_parse_mount, values_mount) if m]
    return [m for m in out if m.writable and m.source and m.kind in ("bind", "volume")]


def kept_paths(doc: dict) -> list[str]:
    """Where the config mounts data filesystems (the storage.filesystems `path`
    of each filesystem off the boot disk, and Where= of mount units whose What=
    is one of those devices)."""
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections

    devices = data_devices(doc)
    paths = [f["path"] for f in devices if f.get("path")]
    names = {f["device"] for f in devices}
    for name, unit in _units(doc).items():
        if not name.endswith(".mount"):
            continue
        try:
            mount = {e.key: e.value.strip() for e in parse_unit_sections(unit["text"]) if e.section == "Mount"}
        except UnitSyntaxError:
            continue
        if mount.get("What") in names and mount.get("Where"):
            paths.append(mount["Where"])
    return sorted({posixpath.normpath(p) for p in paths})


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _resolve(path: str, links: dict[str, str]) -> str:
    """`path` with the config's symbolic links followed (a few levels)."""
    for _ in range(8):
        for link, target in links.items():
            if _under(path, link):
                target = target if target.startswith("/") else posixpath.join(posixpath.dirname(link), target)
                path = posixpath.normpath(target + path[len(link):])
                break
        else:
            return path
    return path


def lost_on_rebuild(doc: dict) -> list[Loss]:
    """Every place the config's containers write that a rebuild loses (see the module's docstring)."""
    doc = effective_config(doc)
    storage = doc.get("storage") or {}
    kept = kept_paths(doc)
    links = {posixpath.normpath(e["path"]): e.get("target", "") for e in storage.get("links") or []
             if not e.get("hard") and e.get("target")}
    files = {posixpath.normpath(e["path"]) for e in storage.get("files") or []}
    created = {posixpath.normpath(e["path"]) for e in storage.get("directories") or []}
    quadlets = quadlet_files(doc)
    volume_units = {q.name: q for q in quadlets if q.kind == "volume"}

    def host_path_lost(path: str) -> bool:
        path = _resolve(posixpath.normpath(path), links)
        return not (any(_under(path, p) for p in SHORT_LIVED) or any(_under(path, k) for k in kept)
                    or path in files)

    def judge(m: _Mount, container: str, defined_in: str) -> Loss | None:
        if "%" in m.source:  # systemd specifiers (%h…): not resolvable here
            return None
        if m.kind == "bind":
            if not m.source.startswith("/") or not host_path_lost(m.source):
                return None
            path = _resolve(posixpath.normpath(m.source), links)
            return Loss(path, container, m.target, defined_in, any(_under(path, d) for d in created))
        name, unit = m.source, None
        if m.source.endswith(".volume"):  # a Quadlet volume unit: Podman names it systemd-NAME or VolumeName=
            stem = m.source[:-len(".volume")]
            unit = volume_units.get(stem)
            if unit is not None and not _volume_on_root_disk(unit, host_path_lost):
                return None
            name = ((unit.values("Volume", "VolumeName") if unit else []) or [f"systemd-{stem}"])[-1]
        return Loss(f"podman volume {name}", container, m.target, defined_in, False)

    out: list[Loss] = []
    for q in quadlets:
        if q.kind not in ("container", "pod"):
            continue
        section = "Container" if q.kind == "container" else "Pod"
        for m in _mounts(q.values(section, "Volume"), q.values(section, "Mount")):
            out.append(judge(m, q.container_name, f"Quadlet file {q.path}"))
    for run in run_commands(doc):
        for m in _mounts(run.options("-v", "--volume"), run.options("--mount")):
            out.append(judge(m, run.name, f"unit {run.unit}"))
    return list(dict.fromkeys(loss for loss in out if loss is not None))


def _volume_on_root_disk(unit: QuadletFile, host_path_lost) -> bool:
    """Whether a Quadlet .volume keeps its data on the root disk: no Device=
    (Podman's volume directory), or a bind of a path on the root disk. A
    tmpfs, or a device of its own, is not the root disk."""
    device = (unit.values("Volume", "Device") or [""])[-1]
    if not device:
        return (unit.values("Volume", "Type") or [""])[-1] != "tmpfs"
    options = {o.strip() for o in ",".join(unit.values("Volume", "Options")).split(",")}
    if {"bind", "rbind"} & options:
        return host_path_lost(device)
    return False

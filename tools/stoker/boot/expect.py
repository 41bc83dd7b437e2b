"""What a booted guest should show, derived from its Ignition config.

When the fleet definition is at hand it can refine this (ports, secrets); the
config alone already says which units are enabled, which run containers, which
are timers, jobs, mounts and files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .ignition import QUADLET_DIR, container_ports, decode_source, parse_unit, unit_value, unit_values

UNIT_DIR = "/etc/systemd/system/"


@dataclass(frozen=True)
class Service:
    name: str
    container: str | None = None  # the container name a Quadlet service runs
    image: str | None = None


@dataclass(frozen=True)
class Timer:
    name: str
    unit: str
    schedule: tuple[str, ...]
    randomized: bool = False  # RandomizedDelaySec= moves the next elapse off the calendar

    def calendars(self) -> tuple[str, ...]:
        return tuple(s.split("=", 1)[1] for s in self.schedule if s.startswith("OnCalendar="))


@dataclass(frozen=True)
class Mount:
    path: str
    device: str
    format: str


@dataclass(frozen=True)
class PathMode:
    path: str
    kind: str  # "directory" | "file"
    owner: str | None
    group: str | None
    mode: int | None


@dataclass(frozen=True)
class Port:
    port: int
    unit: str


@dataclass
class Expectations:
    services: list[Service] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    manual_jobs: list[str] = field(default_factory=list)
    boot_jobs: list[str] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    paths: list[PathMode] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)

    def unit_names(self) -> list[str]:
        names = [s.name for s in self.services] + [t.name for t in self.timers] + [t.unit for t in self.timers]
        return list(dict.fromkeys(names + self.manual_jobs + self.boot_jobs))


@dataclass
class _Unit:
    name: str
    sections: dict
    enabled: bool
    quadlet: bool = False
    container: str | None = None


def _owner(entry: dict, key: str) -> str | None:
    who = entry.get(key) or {}
    if "name" in who:
        return str(who["name"])
    if "id" in who:
        return str(who["id"])
    return None


def derive(cfg: dict) -> Expectations:
    units = _collect_units(cfg)
    exp = Expectations()
    triggered: set[str] = set()
    for u in units.values():
        if u.name.endswith(".timer"):
            target = unit_value(u.sections, "Timer", "Unit", u.name[:-6] + ".service")
            triggered.add(target)
            if u.enabled:
                schedule = tuple(f"{k}={v}" for k, v in u.sections.get("Timer", [])
                                 if k.startswith("On"))
                randomized = bool(unit_value(u.sections, "Timer", "RandomizedDelaySec").strip("0s "))
                exp.timers.append(Timer(u.name, target, schedule, randomized))
    for u in units.values():
        if not u.name.endswith(".service") or u.name in triggered or "@" in u.name:
            continue
        oneshot = unit_value(u.sections, "Service", "Type") == "oneshot"
        if oneshot:
            (exp.boot_jobs if u.enabled else exp.manual_jobs).append(u.name)
        elif u.enabled:
            image = unit_value(u.sections, "Container", "Image") or None
            exp.services.append(Service(u.name, u.container, image))
        else:
            exp.manual_jobs.append(u.name)
    _storage(cfg, exp, units)
    return exp


def _collect_units(cfg: dict) -> dict[str, _Unit]:
    units: dict[str, _Unit] = {}
    for entry in cfg.get("systemd", {}).get("units", []):
        if entry.get("mask") or "contents" not in entry:
            continue
        units[entry["name"]] = _Unit(entry["name"], parse_unit(entry["contents"] or ""),
                                     bool(entry.get("enabled")))
    links = {PurePosixPath(link.get("path", "")).name for link in cfg.get("storage", {}).get("links", [])
             if ".wants/" in link.get("path", "")}
    for entry in cfg.get("storage", {}).get("files", []):
        path = entry.get("path", "")
        text = decode_source(entry.get("contents"))
        if text is None:
            continue
        name = PurePosixPath(path).name
        if path.startswith(QUADLET_DIR) and name.endswith(".container"):
            sections = parse_unit(text)
            install = sections.get("Install", [])
            enabled = any(k in ("WantedBy", "RequiredBy", "UpheldBy") for k, _ in install)
            service = name[:-len(".container")] + ".service"
            container = unit_value(sections, "Container", "ContainerName") or f"systemd-{service[:-8]}"
            units[service] = _Unit(service, sections, enabled, quadlet=True, container=container)
        elif path.startswith(UNIT_DIR) and "/" not in path[len(UNIT_DIR):] and \
                name.endswith((".service", ".timer", ".mount")):
            units.setdefault(name, _Unit(name, parse_unit(text), name in links))
    for name, entry in ((e["name"], e) for e in cfg.get("systemd", {}).get("units", []) if "name" in e):
        if name in units and entry.get("enabled") is not None and "contents" not in entry:
            units[name].enabled = bool(entry["enabled"])
    return units


def _storage(cfg: dict, exp: Expectations, units: dict[str, _Unit]) -> None:
    storage = cfg.get("storage", {})
    for fs in storage.get("filesystems", []):
        if fs.get("path"):
            exp.mounts.append(Mount(fs["path"], fs.get("device", ""), fs.get("format", "")))
    for u in units.values():
        if u.name.endswith(".mount") and u.enabled:
            where = unit_value(u.sections, "Mount", "Where")
            if where and all(m.path != where for m in exp.mounts):
                exp.mounts.append(Mount(where, unit_value(u.sections, "Mount", "What"),
                                        unit_value(u.sections, "Mount", "Type")))
    roots = [m.path.rstrip("/") + "/" for m in exp.mounts]
    for kind, key in (("directory", "directories"), ("file", "files")):
        for entry in storage.get(key, []):
            path = entry.get("path", "")
            if any(path.startswith(r) or path + "/" == r for r in roots):
                exp.paths.append(PathMode(path, kind, _owner(entry, "user"), _owner(entry, "group"),
                                          entry.get("mode")))
    files = {e.get("path") for e in storage.get("files", [])}
    for u in units.values():
        for section in ("Service", "Container"):
            for value in unit_values(u.sections, section, "EnvironmentFile"):
                path = value.lstrip("-")
                if path in files and path not in exp.secrets:
                    exp.secrets.append(path)
    for u in units.values():
        if not (u.quadlet and u.enabled):
            continue
        for value in unit_values(u.sections, "Container", "PublishPort"):
            host, _, proto = container_ports(value)
            if host is not None and proto == "tcp":
                exp.ports.append(Port(host, u.name))

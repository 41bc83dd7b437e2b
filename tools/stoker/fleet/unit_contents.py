"""Checks of the systemd units and Podman Quadlet files a config writes, by
stoker itself (no systemd or podman needed): what Ignition does not look at.

    unit_files(config)            every unit, drop-in and Quadlet file of an Ignition config
    butane_unit_files(document)   the same in a Butane document (snake_case, inline contents)
    problems(unit, podman)        [(line in the file or None, message)] for one file
    set_problems(files, podman)   [(file, line, message)] about the files together

What counts as a unit file: `systemd.units` (and their drop-ins), files written
under /etc/systemd/system/ with a unit suffix (and NAME.d/*.conf drop-ins), and
Quadlet files under /etc/containers/systemd/ (any depth, as Quadlet reads
subdirectories) with their NAME.TYPE.d/*.conf drop-ins. A file whose contents
come from elsewhere (an https:// source, only `append`) cannot be read here: it
is listed with `unchecked` set, and `stoker validate` says so.

Rules and their sources:
- unit names: systemd's (stoker.systemd.unitname), for units and for the
  service a Quadlet file becomes; two Quadlet files making one service;
- `[Timer]` `OnCalendar=`: systemd.time(7) calendar events (stoker.systemd.calendar);
  the `[Timer]` time spans (systemd.timer(5)): stoker.systemd.timespan;
- Quadlet files and drop-ins: every section and key known to the target's
  Podman (stoker.podman.quadlet_keys); the key each type needs (a .container
  its Image= or Rootfs=, podman-systemd.unit(5)); `Image=` an image reference
  (stoker.podman.reference) unless it names a `.image`/`.build` unit; the
  capabilities of `AddCapability=`/`DropCapability=` (stoker.podman.capabilities).
"""

from __future__ import annotations

import posixpath
import zlib
from dataclasses import dataclass

from ..butane.resources import decode_data_url

QUADLET_DIR = "/etc/containers/systemd/"
SYSTEMD_DIR = "/etc/systemd/system/"
# systemd.timer(5): the settings of [Timer] that take a time span.
TIMER_SPANS = ("OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec",
               "AccuracySec", "RandomizedDelaySec", "RandomizedOffsetSec")
# podman-systemd.unit(5): the key without which each file type is refused (any one of them).
REQUIRED_KEYS = {".container": ("Image", "Rootfs"), ".kube": ("Yaml",), ".image": ("Image",),
                 ".build": ("ImageTag",)}


@dataclass(frozen=True)
class UnitFile:
    path: tuple           # where its contents are in the config (JSON or Butane path)
    name: str             # "web.timer"; a Quadlet file relative to its directory: "web.container",
                          # "web.container.d/10-x.conf"
    text: str | None      # None when it cannot be read here (see `unchecked`)
    kind: str             # "unit", "dropin", "quadlet" or "quadlet-dropin"
    unchecked: str = ""   # why the text is not here


def unit_files(config: dict) -> list[UnitFile]:
    """The units, drop-ins and Quadlet files of an Ignition config (camelCase keys)."""
    out = _units(config, ("systemd", "units"))
    for i, f in enumerate(_list((config.get("storage") or {}).get("files"))):
        kind_name = _kind(f.get("path"))
        if kind_name is None:
            continue
        kind, name = kind_name
        at = ("storage", "files", i, "contents", "source")
        contents = f.get("contents")
        source = contents.get("source") if isinstance(contents, dict) else None
        if source is None and f.get("append"):
            out.append(UnitFile(at, name, None, kind, "its contents are only `append`ed at boot"))
        elif isinstance(source, str) and not source.startswith("data:"):
            out.append(UnitFile(at, name, None, kind, f"its contents come from {source.split('?')[0][:80]}"))
        else:
            text = _decoded(contents)
            if text is not None:
                out.append(UnitFile(at, name, text, kind))
    return out


def butane_unit_files(document: dict) -> list[UnitFile]:
    """The same, in a Butane document (snake_case keys, `inline` contents)."""
    out = _units(document, ("systemd", "units"))
    for i, f in enumerate(_list((document.get("storage") or {}).get("files"))):
        kind_name, contents = _kind(f.get("path")), f.get("contents")
        if kind_name and isinstance(contents, dict) and isinstance(contents.get("inline"), str):
            out.append(UnitFile(("storage", "files", i, "contents", "inline"), kind_name[1], contents["inline"],
                                kind_name[0]))
    return out


def _units(config: dict, at: tuple) -> list[UnitFile]:
    out = []
    for i, unit in enumerate(_list((config.get("systemd") or {}).get("units"))):
        if isinstance(unit.get("contents"), str):
            out.append(UnitFile(at + (i, "contents"), str(unit.get("name")), unit["contents"], "unit"))
        for j, dropin in enumerate(_list(unit.get("dropins"))):
            if isinstance(dropin.get("contents"), str):
                out.append(UnitFile(at + (i, "dropins", j, "contents"), str(dropin.get("name")),
                                    dropin["contents"], "dropin"))
    return out


def _kind(path) -> tuple[str, str] | None:
    """(kind, name) of a storage file that is a unit file, else None."""
    from ..podman.quadlet_keys import UNIT_TYPES
    from ..systemd.unitname import UNIT_TYPES as SYSTEMD_TYPES

    if not isinstance(path, str):
        return None
    path = posixpath.normpath(path)
    parent, base = posixpath.split(path)
    if path.startswith(QUADLET_DIR):
        rel = path[len(QUADLET_DIR):]
        if posixpath.splitext(base)[1] in UNIT_TYPES:
            return "quadlet", rel
        if base.endswith(".conf") and posixpath.splitext(parent[:-2])[1] in UNIT_TYPES and parent.endswith(".d"):
            return "quadlet-dropin", rel
        return None
    if parent + "/" == SYSTEMD_DIR and posixpath.splitext(base)[1][1:] in SYSTEMD_TYPES:
        return "unit", base
    if parent.startswith(SYSTEMD_DIR) and parent.endswith(".d") and base.endswith(".conf"):
        return "dropin", base
    return None


def problems(unit: UnitFile, podman: str) -> list[tuple[int | None, str]]:
    """What is wrong in one unit file, as (line, message); line is 1-based in its text."""
    if unit.text is None:
        return []
    if unit.kind == "quadlet":
        return _quadlet_problems(unit, podman)
    if unit.kind == "quadlet-dropin":
        return _quadlet_dropin_problems(unit, podman)
    from ..systemd.unitname import unit_name_problem

    found: list[tuple[int | None, str]] = []
    if unit.kind == "unit":
        why = unit_name_problem(unit.name)
        if why:
            found.append((None, why))
    found += _timer_problems(unit)
    return found


def set_problems(files: list[UnitFile]) -> list[tuple[UnitFile, int | None, str]]:
    """Problems of the Quadlet files taken together: two files that make one
    service, and a unit type's required key missing from a file and its drop-ins."""
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections
    from ..systemd.unitname import quadlet_service_name

    found = []
    services: dict[str, UnitFile] = {}
    keys: dict[str, set] = {}
    for f in files:
        if f.kind not in ("quadlet", "quadlet-dropin") or f.text is None:
            continue
        try:
            entries = parse_unit_sections(f.text)
        except UnitSyntaxError:
            continue
        owner = f.name if f.kind == "quadlet" else posixpath.basename(posixpath.dirname(f.name))[:-2]
        keys.setdefault(posixpath.basename(owner), set()).update(e.key for e in entries)
        if f.kind != "quadlet":
            continue
        base = posixpath.splitext(posixpath.basename(f.name))[0]
        service = quadlet_service_name(f.name) or f"{base}.service"
        if service in services:
            found.append((f, None, f"{services[service].name} and {f.name} both become {service}"))
        services.setdefault(service, f)
    for f in files:
        if f.kind != "quadlet" or f.text is None:
            continue
        need = REQUIRED_KEYS.get(posixpath.splitext(f.name)[1])
        if need and not keys.get(posixpath.basename(f.name), set()) & set(need):
            found.append((f, None, f"no {' or '.join(k + '=' for k in need)}: Quadlet refuses the file"))
    return found


def _timer_problems(unit: UnitFile) -> list[tuple[int | None, str]]:
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections
    from ..systemd.calendar import CalendarError, parse_calendar
    from ..systemd.timespan import TimespanError, parse_timespan

    try:
        entries = parse_unit_sections(unit.text)
    except UnitSyntaxError:
        return []  # Ignition's own unit-content check reports what systemd cannot read
    found: list[tuple[int | None, str]] = []
    for e in entries:
        if e.section != "Timer" or not e.value.strip():
            continue
        try:
            if e.key == "OnCalendar":
                parse_calendar(e.value.strip())
            elif e.key in TIMER_SPANS:
                parse_timespan(e.value.strip())
        except (CalendarError, TimespanError) as exc:
            found.append((e.line, f"{e.key}={e.value.strip()}: {exc}"))
    return found


def _quadlet_problems(unit: UnitFile, podman: str) -> list[tuple[int | None, str]]:
    from ..podman.quadlet_keys import unit_problems
    from ..systemd.unitname import quadlet_service_name, unit_name_problem

    found: list[tuple[int | None, str]] = []
    filename = posixpath.basename(unit.name)
    service = quadlet_service_name(filename)
    if service:
        why = unit_name_problem(service)
        if why:
            found.append((None, f"the service Quadlet makes of it: {why}"))
    for finding in unit_problems(filename, unit.text, podman):
        line, _, message = finding[len(filename) + 1:].partition(": ")
        found.append((int(line), message) if line.isdigit() else (None, finding[len(filename) + 2:]))
    return found + _container_value_problems(unit)


def _quadlet_dropin_problems(unit: UnitFile, podman: str) -> list[tuple[int | None, str]]:
    from ..podman.quadlet_keys import key_problem
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections

    owner = posixpath.basename(posixpath.dirname(unit.name))[:-2]  # web.container.d -> web.container
    try:
        entries = parse_unit_sections(unit.text)
    except UnitSyntaxError as exc:
        return [(exc.line, exc.detail)]
    found: list[tuple[int | None, str]] = []
    for e in entries:
        why = key_problem(owner, e.section, e.key, podman)
        if why:
            found.append((e.line, why))
    return found + _container_value_problems(unit)


def _container_value_problems(unit: UnitFile) -> list[tuple[int | None, str]]:
    from ..podman.capabilities import capability_problem, split_value
    from ..podman.reference import ReferenceError, parse_reference
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections

    try:
        entries = parse_unit_sections(unit.text)
    except UnitSyntaxError:
        return []
    found: list[tuple[int | None, str]] = []
    for e in entries:
        if e.section != "Container":
            continue
        value = e.value.strip()
        if e.key == "Image" and value and not value.endswith((".image", ".build")):
            try:
                parse_reference(value)
            except ReferenceError as exc:
                found.append((e.line, f"Image=: {exc}"))
        elif e.key in ("AddCapability", "DropCapability"):
            for cap in split_value(value):
                why = capability_problem(cap)
                if why:
                    found.append((e.line, f"{e.key}=: {why}"))
    return found


# Contents larger than this are not decompressed here (a gzip bomb would take the machine).
MAX_TEXT = 16 * 1024 * 1024


def _decoded(contents) -> str | None:
    """The text of inline contents; None for undecodable data (Ignition's own
    validation and stoker's data-URL check report those)."""
    if not isinstance(contents, dict) or not isinstance(contents.get("source"), str):
        return None
    try:
        raw = decode_data_url(contents["source"])
        if raw is not None and contents.get("compression") == "gzip":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, MAX_TEXT)
            if inflater.unconsumed_tail:
                return None
    except (ValueError, zlib.error):
        return None
    return None if raw is None else raw.decode("utf-8", "replace")


def _list(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

"""Checks of the systemd units and Podman Quadlet files a config writes, by
stoker itself (no systemd or podman needed): what Ignition does not look at.

    unit_files(config)            every unit, drop-in and Quadlet file of an Ignition config
    butane_unit_files(document)   the same in a Butane document (snake_case, inline contents)
    problems(unit_file, podman)   [(line in the file or None, message)]

Rules and their sources:
- unit names: systemd's (stoker.systemd.unitname), for units and for the
  service a Quadlet file becomes;
- `[Timer]` `OnCalendar=`: systemd.time(7) calendar events (stoker.systemd.calendar);
  the `[Timer]` time spans (systemd.timer(5)): stoker.systemd.timespan;
- Quadlet files: every section and key known to the target's Podman
  (stoker.podman.quadlet_keys), `Image=` an image reference
  (stoker.podman.reference) unless it names a `.image`/`.build` unit, and the
  capabilities of `AddCapability=`/`DropCapability=` (stoker.podman.capabilities).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ..butane.resources import decode_data_url

QUADLET_DIR = "/etc/containers/systemd/"
# systemd.timer(5): the settings of [Timer] that take a time span.
TIMER_SPANS = ("OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec",
               "AccuracySec", "RandomizedDelaySec", "RandomizedOffsetSec")


@dataclass(frozen=True)
class UnitFile:
    path: tuple      # where its text is in the config (JSON or Butane path)
    name: str        # file name: "web.timer", "web.container"
    text: str
    kind: str        # "unit", "dropin" or "quadlet"


def unit_files(config: dict) -> list[UnitFile]:
    """The units, drop-ins and Quadlet files of an Ignition config (camelCase keys).
    Contents that are not inline data URLs (a remote source) cannot be checked and are left out."""
    out = []
    for i, unit in enumerate(_list((config.get("systemd") or {}).get("units"))):
        if isinstance(unit.get("contents"), str):
            out.append(UnitFile(("systemd", "units", i, "contents"), str(unit.get("name")), unit["contents"], "unit"))
        for j, dropin in enumerate(_list(unit.get("dropins"))):
            if isinstance(dropin.get("contents"), str):
                out.append(UnitFile(("systemd", "units", i, "dropins", j, "contents"), str(dropin.get("name")),
                                    dropin["contents"], "dropin"))
    for i, f in enumerate(_list((config.get("storage") or {}).get("files"))):
        path = f.get("path")
        if not isinstance(path, str) or not _is_quadlet(path):
            continue
        text = _decoded(f.get("contents"))
        if text is not None:
            out.append(UnitFile(("storage", "files", i, "contents", "source"), path.rsplit("/", 1)[1], text,
                                "quadlet"))
    return out


def butane_unit_files(document: dict) -> list[UnitFile]:
    """The same, in a Butane document (snake_case keys, `inline` contents)."""
    out = []
    for i, unit in enumerate(_list((document.get("systemd") or {}).get("units"))):
        if isinstance(unit.get("contents"), str):
            out.append(UnitFile(("systemd", "units", i, "contents"), str(unit.get("name")), unit["contents"], "unit"))
        for j, dropin in enumerate(_list(unit.get("dropins"))):
            if isinstance(dropin.get("contents"), str):
                out.append(UnitFile(("systemd", "units", i, "dropins", j, "contents"), str(dropin.get("name")),
                                    dropin["contents"], "dropin"))
    for i, f in enumerate(_list((document.get("storage") or {}).get("files"))):
        path, contents = f.get("path"), f.get("contents")
        if isinstance(path, str) and _is_quadlet(path) and isinstance(contents, dict) \
                and isinstance(contents.get("inline"), str):
            out.append(UnitFile(("storage", "files", i, "contents", "inline"), path.rsplit("/", 1)[1],
                                contents["inline"], "quadlet"))
    return out


def problems(unit: UnitFile, podman: str) -> list[tuple[int | None, str]]:
    """What is wrong in one unit file, as (line, message); line is 1-based in its text."""
    if unit.kind == "quadlet":
        return _quadlet_problems(unit, podman)
    from ..systemd.unitname import unit_name_problem

    found: list[tuple[int | None, str]] = []
    if unit.kind == "unit":
        why = unit_name_problem(unit.name)
        if why:
            found.append((None, why))
    found += _timer_problems(unit)
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
    from ..podman.capabilities import capability_problem, split_value
    from ..podman.quadlet_keys import unit_problems
    from ..podman.reference import ReferenceError, parse_reference
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections
    from ..systemd.unitname import QUADLET_SERVICE_SUFFIXES, unit_name_problem

    found: list[tuple[int | None, str]] = []
    base, _, suffix = unit.name.rpartition(".")
    if suffix in QUADLET_SERVICE_SUFFIXES:
        why = unit_name_problem(f"{base}{QUADLET_SERVICE_SUFFIXES[suffix]}.service")
        if why:
            found.append((None, f"the service Quadlet makes of it: {why}"))
    for finding in unit_problems(unit.name, unit.text, podman):
        line, _, message = finding[len(unit.name) + 1:].partition(": ")
        found.append((int(line), message) if line.isdigit() else (None, finding[len(unit.name) + 2:]))
    try:
        entries = parse_unit_sections(unit.text)
    except UnitSyntaxError:
        return found
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


def _is_quadlet(path: str) -> bool:
    from ..podman.quadlet_keys import UNIT_TYPES

    if not path.startswith(QUADLET_DIR):
        return False
    return "." + path.rsplit(".", 1)[-1] in UNIT_TYPES


def _decoded(contents) -> str | None:
    """The text of inline contents; None for a remote source or undecodable data
    (Ignition's own validation reports a malformed data URL)."""
    if not isinstance(contents, dict) or not isinstance(contents.get("source"), str):
        return None
    try:
        raw = decode_data_url(contents["source"], contents.get("compression"))
    except (ValueError, OSError, EOFError, zlib.error):
        return None
    return None if raw is None else raw.decode("utf-8", "replace")


def _list(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

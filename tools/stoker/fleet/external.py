"""The door to other programs for `stoker validate`, and the files they read.

Every subprocess goes through `run`: argv list, stdin closed, a minimal
environment, a time limit.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..butane.resources import decode_data_url
from ..systemd.unitname import FILE_NAME_MAX, quadlet_service_name


def run(argv: list[str], *, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0"}
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=timeout, check=False)


def file_contents(entry: dict) -> str | None:
    """The text of an Ignition storage.files entry with a data URL, or None."""
    contents = entry.get("contents") or {}
    raw = decode_data_url(contents.get("source") or "data:,", contents.get("compression"))
    return None if raw is None else raw.decode("utf-8", "replace")


# A unit Quadlet generates, as systemd-analyze needs it to resolve a timer's Unit=.
_STAND_IN = "[Service]\nType=oneshot\nExecStart=/bin/true\n"


def write_unit_files(units, files, directory: Path) -> list[Path]:
    """Write `units` (stoker.fleet.unit_contents.UnitFile, kind "unit") into
    `directory` for systemd-analyze, with a stand-in service for each Quadlet
    file of `files` (Quadlet makes NAME.service on the VM). Names that cannot be
    file names are left out: stoker's own name check reports them."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for unit in units:
        if not _file_name_ok(unit.name):
            continue
        path = directory / unit.name
        path.write_text(unit.text, encoding="utf-8")
        path.chmod(0o644)  # as Ignition writes units; systemd warns about world-writable ones (umask 000)
        written.append(path)
    for f in files:
        service = quadlet_service_name(f.name) if f.kind == "quadlet" else None
        if service is None:
            continue
        if _file_name_ok(service) and not (directory / service).exists():
            (directory / service).write_text(_STAND_IN, encoding="utf-8")
            (directory / service).chmod(0o644)
    return written


def _file_name_ok(name: str) -> bool:
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return 0 < size <= FILE_NAME_MAX and "/" not in name and name not in (".", "..") and "\0" not in name

"""Ask the real systemd-analyze for its verdicts, many inputs per call (tests and make_vectors.py).

    available() -> bool
    version() -> str                                  first line of `systemd-analyze --version`
    calendar(exprs) -> list[dict]                     {"valid": bool, "normalized": str | None}
    timespan(spans) -> list[dict]                     {"valid": bool, "usec": int, "human": str}
    unit_names(names) -> list[dict]                   {"valid": bool}

Inputs must not contain newlines (the output is read line by line). systemd-analyze runs
with TZ=UTC, the local time of Fedora CoreOS, unless a TZ is given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

_ENV = {
    # Wide enough that the tables never shorten a value; no pager, no colours.
    "COLUMNS": "100000", "SYSTEMD_PAGER": "", "PAGER": "cat", "SYSTEMD_COLORS": "0", "NO_COLOR": "1",
    "SYSTEMD_LOG_LEVEL": "info", "LC_ALL": "C.UTF-8",
}


def available() -> bool:
    return shutil.which("systemd-analyze") is not None


def _run(args: list[str], tz: str = "UTC") -> subprocess.CompletedProcess:
    env = {**os.environ, **_ENV, "TZ": tz}
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def version() -> str:
    return _run(["--version"]).stdout.splitlines()[0]


def _check(values: list[str]) -> None:
    for v in values:
        if "\n" in v or "\0" in v:
            raise ValueError(f"cannot ask systemd-analyze about {v!r}")


def calendar(exprs: list[str], tz: str = "UTC") -> list[dict]:
    """One `systemd-analyze calendar` call for all of EXPRS.

    It prints a table per accepted expression and, between consecutive inputs, one empty
    line, refused ones adding nothing but that line; stderr names each refused input."""
    _check(exprs)
    if not exprs:
        return []
    proc = _run(["calendar", "--", *exprs], tz)
    lines = proc.stdout.split("\n")
    pos = 0
    out = []
    for n, expr in enumerate(exprs):
        head = lines[pos].strip() if pos < len(lines) else ""
        if head.startswith(("Original form:", "Normalized form:")):
            normalized = None
            while pos < len(lines) and lines[pos] != "":
                key, _, value = lines[pos].strip().partition(": ")
                if key == "Normalized form":
                    normalized = value
                pos += 1
            out.append({"valid": True, "normalized": normalized})
        elif f"Failed to parse calendar specification '{expr}':" in proc.stderr:
            out.append({"valid": False, "normalized": None})
        elif f"Failed to determine next elapse for '{expr}':" in proc.stderr:
            # Parsed, but the table was not printed: the normalized form is unknown.
            out.append({"valid": True, "normalized": None})
        else:
            raise AssertionError(f"cannot read systemd-analyze's answer for {expr!r}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        if n + 1 < len(exprs):
            if pos >= len(lines) or lines[pos] != "":
                raise AssertionError(f"unexpected systemd-analyze output near {expr!r}:\n{proc.stdout}")
            pos += 1
    return out


def _timespan_blocks(stdout: str) -> list[dict]:
    lines = [line.strip() for line in stdout.split("\n")]
    found = []
    for i, line in enumerate(lines):
        if line.startswith("Human:"):
            # The line before is "μs: N" (its label depends on the locale).
            found.append({"valid": True, "usec": int(lines[i - 1].partition(": ")[2]),
                          "human": line.partition(": ")[2]})
    return found


def timespan(spans: list[str]) -> list[dict]:
    """`systemd-analyze timespan` stops at the first refused input: call again after it."""
    _check(spans)
    out: list[dict] = []
    while len(out) < len(spans):
        rest = spans[len(out):]
        proc = _run(["timespan", "--", *rest])
        blocks = _timespan_blocks(proc.stdout)
        out.extend(blocks)
        if proc.returncode != 0:
            if len(blocks) >= len(rest) or f"Failed to parse time span '{rest[len(blocks)]}':" \
                    not in proc.stderr:
                raise AssertionError(f"cannot read systemd-analyze's answer:\n{proc.stdout}\n{proc.stderr}")
            out.append({"valid": False, "usec": None, "human": None})
        elif len(blocks) != len(rest):
            raise AssertionError(f"cannot read systemd-analyze's answer:\n{proc.stdout}\n{proc.stderr}")
    return out


def unit_names(names: list[str]) -> list[dict]:
    """`systemd-analyze verify` refuses a file whose name unit_name_is_valid() refuses
    ("Failed to prepare filename ...: Invalid argument"); other complaints are about the
    (dummy) contents. Each NAME goes in as verify's "SOURCE:ALIAS" argument, which copies
    SOURCE to a file called ALIAS first, so NAME may contain ":" (a plain path may not).
    NAME must be a file name: no "/", not "." or "..", at most 255 bytes."""
    _check(names)
    for name in names:
        if "/" in name or name in ("", ".", "..") or len(name.encode()) > 255:
            raise ValueError(f"{name!r} cannot be a file name")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "source")
        source.write_text("[Unit]\nDescription=stoker test\n")
        proc = _run(["verify", "--man=no", "--recursive-errors=no", "--",
                     *(f"{source}:{name}" for name in names)])
    if "Couldn't process aliases" in proc.stderr:
        raise AssertionError(f"systemd-analyze verify did not take the names:\n{proc.stderr}")
    refused = set()
    for line in proc.stderr.splitlines():
        if line.startswith("Failed to prepare filename "):
            path = line.removeprefix("Failed to prepare filename ").rsplit(": ", 1)[0]
            refused.add(path.rsplit("/", 1)[1])
    return [{"valid": name not in refused} for name in names]

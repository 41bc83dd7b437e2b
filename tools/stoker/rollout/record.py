"""What a rollout leaves behind: one record per rollout, and JUnit XML of the
post-deploy checks.

    state/rollouts/<id>.json     (0600 in a 0700 directory, like the deploy history)
    build/junit/rollout-<vm>.xml (for CI; no secret values: checks show states, modes and ports)

A record (`Record.to_json`):

    {"id": "20261201T030000Z-1a2b3c", "operator": "user@host", "started": ISO, "finished": ISO|null,
     "stoker_version": "0.1.0", "dry_run": false, "skip_boot_test": false, "auto_rollback": false,
     "order": ["ims-staging", "ims", "bastion"],
     "configs": {"ims": {"sha256": "...", "previous": "..."|null, "action": "rebuild"}},
     "gates": [{"name": "validate", "vm": "ims", "status": "passed|failed|skipped", "detail": "..."}],
     "servers": [{"vm": "ims", "outcome": "done|failed|rolled back|rollback failed|untouched",
                  "server": id, "ignition": verdict, "checks": [{"group", "name", "ok", "expected", "seen"}],
                  "rollback": {...}|null, "detail": "..."}],
     "outcome": "planned|nothing to do|gate failed|done|halted|refused|interrupted", "detail": "..."}

It is written when the rollout starts and again after every step, so an
interrupted rollout still leaves what it did.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import __version__
from ..boot.checks import Results
from ..boot.junit import junit_xml
from ..cloud.state import FILE_MODE, _private_dir
from ..fileio import write_atomic

ROLLOUTS = "rollouts"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(now: dt.datetime) -> str:
    """`YYYYmmddTHHMMSS.ffffffZ-xxxxxx`: sorts in start order, to the
    microsecond (two rollouts in one second stay in order), then a random tag."""
    return now.strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)


@dataclass
class Gate:
    name: str      # validate | boot-test | fleet-test
    vm: str | None
    status: str    # passed | failed | skipped
    detail: str = ""


@dataclass
class ServerRecord:
    vm: str
    outcome: str = "untouched"
    server: str | None = None
    ignition: str | None = None
    checks: list[dict] = field(default_factory=list)
    rollback: dict | None = None
    detail: str = ""


@dataclass
class Record:
    id: str
    operator: str
    started: str
    order: list[str] = field(default_factory=list)
    configs: dict[str, dict] = field(default_factory=dict)
    gates: list[Gate] = field(default_factory=list)
    servers: list[ServerRecord] = field(default_factory=list)
    outcome: str = "running"
    detail: str = ""
    finished: str | None = None
    dry_run: bool = False
    skip_boot_test: bool = False
    auto_rollback: bool = False
    stoker_version: str = __version__

    def server(self, vm: str) -> ServerRecord:
        for s in self.servers:
            if s.vm == vm:
                return s
        s = ServerRecord(vm)
        self.servers.append(s)
        return s

    def finish(self, outcome: str, detail: str = "") -> None:
        self.outcome, self.detail, self.finished = outcome, detail, _now()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Record":
        """The record in `data`; ValueError naming the first field that is not as written."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        data = dict(data)
        for name in ("id", "operator", "started"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"{name!r} is not a string")
        for name, kind in (("order", list), ("configs", dict), ("gates", list), ("servers", list)):
            if not isinstance(data.get(name, kind()), kind):
                raise ValueError(f"{name!r} is not a {kind.__name__}")
        if not all(isinstance(v, str) for v in data.get("order", [])):
            raise ValueError("'order' holds something other than VM names")
        if not all(isinstance(c, dict) for c in data.get("configs", {}).values()):
            raise ValueError("'configs' holds something other than objects")
        data["gates"] = [Gate(**g) for g in data.get("gates", [])]
        data["servers"] = [ServerRecord(**s) for s in data.get("servers", [])]
        for s in data["servers"]:
            if not isinstance(s.checks, list) or not all(isinstance(c, dict) for c in s.checks):
                raise ValueError(f"the checks of {s.vm} are not a list of objects")
            if s.rollback is not None and not isinstance(s.rollback, dict):
                raise ValueError(f"the rollback of {s.vm} is not an object")
        return cls(**data)

    def vms(self) -> list[str]:
        return list(dict.fromkeys(self.order + list(self.configs)))


def checks_json(results: Results) -> list[dict]:
    return [{"group": c.group, "name": c.name, "ok": c.ok, "expected": c.expected, "seen": c.seen}
            for c in results.checks]


def save(state_dir: Path, record: Record) -> Path:
    """Write the record whole (0600, directory 0700)."""
    directory = _private_dir(Path(state_dir) / ROLLOUTS, Path(state_dir))
    path = directory / f"{record.id}.json"
    write_atomic(path, (json.dumps(record.to_json(), indent=1) + "\n").encode(), FILE_MODE)
    return path


def load_all(state_dir: Path, vm: str | None = None) -> list[Record]:
    """Every rollout recorded in `state_dir`, oldest first; with `vm`, only the
    ones that touched or planned it. Damaged files are left out (scan names them)."""
    return scan(state_dir, vm)[0]


def scan(state_dir: Path, vm: str | None = None) -> tuple[list[Record], list[tuple[Path, str]]]:
    """(the records as load_all gives them, [(path, why) of each damaged file])."""
    directory = Path(state_dir) / ROLLOUTS
    out, damaged = [], []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            record = Record.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            damaged.append((path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        if vm is None or vm in record.vms():
            out.append(record)
    return sorted(out, key=lambda r: (r.started, r.id)), damaged


def write_junit(build_dir: Path, vm: str, suites: list[tuple[str, Results, float]]) -> Path:
    """build/junit/rollout-<vm>.xml: one testsuite per check run (the deploy, a rollback)."""
    path = Path(build_dir) / "junit" / f"rollout-{vm}.xml"
    write_atomic(path, junit_xml(suites, prefix="rollout").encode(), 0o644, make_parents=True)
    return path

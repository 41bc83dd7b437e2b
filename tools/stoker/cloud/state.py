"""What a deploy leaves behind: the deployed config, every config ever deployed
with its outcome, and the server's metadata naming the config, the stoker
version, the time and Ignition's verdict.

Layout (git-ignored; the configs hold the secret values, so the directory is
0700 and every file 0600, each written whole or not at all):

    state/<vm>.ign                       the config the server runs now
    state/history/<vm>/<sha256>.ign      every config deployed, by its sha256
    state/history/<vm>/deploys.json      [{sha256, time, stoker_version, action, server, outcome}, ...]

`outcome` is "pending" while a deploy runs, then Ignition's verdict: success,
failed or unknown (no verdict seen), or "interrupted" when the deploy stopped
before a verdict. `stoker rollback VM` redeploys the newest earlier config
whose outcome was success.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import __version__
from ..errors import StokerError
from ..fileio import write_atomic
from .config import Config, parse_config

META_SHA, META_VERSION, META_TIME, META_VM, META_IGNITION = (
    "stoker_config_sha256", "stoker_version", "stoker_deployed_at", "stoker_vm", "stoker_ignition")
META_LOCK = "stoker_rollout_lock"  # stoker.rollout.lock: kept across rebuilds like the operator's own keys

DIR_MODE, FILE_MODE = 0o700, 0o600


@dataclass
class Deploy:
    sha256: str
    time: str
    stoker_version: str
    action: str
    server: str | None
    outcome: str


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _private_dir(path: Path, top: Path | None = None) -> Path:
    """`path` created or tightened to 0700, and so is every directory from
    `top` (a parent of `path`) down to it."""
    chain = [path]
    while top is not None and chain[-1] != top and top in chain[-1].parents:
        chain.append(chain[-1].parent)
    for directory in reversed(chain):
        directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        if directory.stat().st_mode & 0o077:
            os.chmod(directory, DIR_MODE)
    return path


def _history_dir(state_dir: Path, vm: str) -> Path:
    return Path(state_dir) / "history" / vm


def read_state(state_dir: Path, vm: str) -> Config | None:
    path = Path(state_dir) / f"{vm}.ign"
    if not path.exists():
        return None
    return parse_config(path.read_bytes(), path)


def write_state(state_dir: Path, vm: str, config: Config) -> Path:
    """Record `config` as the one the server runs now (0600 in a 0700 directory)."""
    state_dir = Path(state_dir)
    _private_dir(state_dir)
    path = state_dir / f"{vm}.ign"
    write_atomic(path, config.raw, FILE_MODE)
    return path


def history(state_dir: Path, vm: str) -> list[Deploy]:
    """Every deploy of `vm`, oldest first."""
    path = _history_dir(state_dir, vm) / "deploys.json"
    if not path.exists():
        return []
    try:
        return [Deploy(**entry) for entry in json.loads(path.read_text())]
    except (ValueError, TypeError) as exc:
        raise StokerError(f"{path} is damaged ({exc}); move it aside to start a new history") from None


def _write_history(state_dir: Path, vm: str, deploys: list[Deploy]) -> None:
    directory = _private_dir(_history_dir(state_dir, vm), Path(state_dir))
    write_atomic(directory / "deploys.json", (json.dumps([asdict(d) for d in deploys], indent=1) + "\n").encode(),
                 FILE_MODE)


def record_deploy(state_dir: Path, vm: str, config: Config, action: str, server: str | None) -> None:
    """Keep `config` by its sha256 and log the deploy as pending."""
    _private_dir(Path(state_dir))
    directory = _private_dir(_history_dir(state_dir, vm), Path(state_dir))
    kept = directory / f"{config.sha256}.ign"
    if not kept.exists():
        write_atomic(kept, config.raw, FILE_MODE)
    deploys = history(state_dir, vm)
    deploys.append(Deploy(config.sha256, _now(), __version__, action, server, "pending"))
    _write_history(state_dir, vm, deploys)


def record_outcome(state_dir: Path, vm: str, sha256: str, outcome: str, server: str | None = None,
                   replace: tuple[str, ...] = ("pending",)) -> None:
    """Set the outcome of the newest deploy of `sha256` whose outcome is one of `replace`."""
    deploys = history(state_dir, vm)
    for deploy in reversed(deploys):
        if deploy.sha256 == sha256 and deploy.outcome in replace:
            deploy.outcome = outcome
            deploy.server = deploy.server or server
            break
    _write_history(state_dir, vm, deploys)


def kept_config(state_dir: Path, vm: str, sha256: str) -> Config | None:
    """A config kept in the history, by its sha256 (a unique prefix of at least 8 digits works)."""
    directory = _history_dir(state_dir, vm)
    if len(sha256) < 8 or not directory.is_dir():
        return None
    matches = [p for p in directory.glob("*.ign") if p.stem.startswith(sha256.lower())]
    if len(matches) != 1:
        return None
    return parse_config(matches[0].read_bytes(), matches[0])


def rollback_target(state_dir: Path, vm: str, current_sha: str | None, server: str | None = None) -> Deploy | None:
    """The newest deploy before the current config whose Ignition succeeded;
    with `server`, only deploys to that server (the same VM may have run
    elsewhere: another cloud, or a server since replaced)."""
    for deploy in reversed(history(state_dir, vm)):
        if server is not None and deploy.server != server:
            continue
        if deploy.sha256 != current_sha and deploy.outcome == "success":
            return deploy
    return None


def server_metadata(current: dict, vm: str, config: Config, when: str | None = None) -> dict:
    """The server's metadata after a deploy: the operator's own keys and a
    rollout's lock (META_LOCK) are kept."""
    meta = {k: v for k, v in current.items() if not k.startswith("stoker_") or k == META_LOCK}
    meta.update({META_VM: vm, META_SHA: config.sha256, META_VERSION: __version__,
                 META_TIME: when or _now(), META_IGNITION: "pending"})
    return meta

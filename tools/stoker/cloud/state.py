"""What a deploy leaves behind: the config under state/<vm>.ign (git-ignored)
and the server's metadata naming the config, the stoker version, the time and
Ignition's verdict."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import __version__

from .config import Config, parse_config

META_SHA, META_VERSION, META_TIME, META_VM, META_IGNITION = (
    "stoker_config_sha256", "stoker_version", "stoker_deployed_at", "stoker_vm", "stoker_ignition")


def read_state(state_dir: Path, vm: str) -> Config | None:
    path = Path(state_dir) / f"{vm}.ign"
    if not path.exists():
        return None
    return parse_config(path.read_bytes(), path)


def write_state(state_dir: Path, vm: str, config: Config) -> Path:
    path = Path(state_dir) / f"{vm}.ign"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ign.tmp")
    tmp.write_bytes(config.raw)
    tmp.replace(path)
    return path


def server_metadata(current: dict, vm: str, config: Config, when: str | None = None) -> dict:
    """The server's metadata after a deploy: the operator's own keys are kept."""
    meta = {k: v for k, v in current.items() if not k.startswith("stoker_")}
    meta.update({META_VM: vm, META_SHA: config.sha256, META_VERSION: __version__,
                 META_TIME: when or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 META_IGNITION: "pending"})
    return meta

"""The last deployed config of each VM, kept under state/<vm>.ign (git-ignored)."""

from __future__ import annotations

from pathlib import Path

from .config import Config, parse_config


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

"""Fixtures for the fleet tests: the real fleet, and throwaway copies to break."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stoker.fleet.definitions import load_fleet
from stoker.fleet.external import file_contents
from stoker.fleet.render import render_vm
from stoker.fleet.secrets import load_secrets

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("fleet.yaml", "vms", "butane", "files", "secrets.example.yaml")


@pytest.fixture(scope="session")
def fleet():
    return load_fleet(ROOT)


@pytest.fixture(scope="session")
def dev_secrets():
    return load_secrets(None, environ={}, dev=True)


@pytest.fixture(scope="session")
def rendered(fleet, dev_secrets):
    """Every VM rendered once with dev secrets: {name: (Rendered, Ignition config dict)}."""
    out = {}
    for name in fleet.vms:
        r = render_vm(fleet, name, dev_secrets)
        out[name] = (r, json.loads(r.full_ignition))
    return out


@pytest.fixture
def repo(tmp_path):
    """A copy of the fleet's definitions that a test may edit."""
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        elif src.exists():
            shutil.copy(src, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_col(path: Path, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based line and column of the first `needle` in a file (+ offset columns)."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i, line.index(needle) + 1 + offset
    raise AssertionError(f"{needle!r} not in {path}")


class Config:
    """Questions a test asks of one rendered Ignition config."""

    def __init__(self, config: dict):
        self.config = config
        self.files = {f["path"]: f for f in config.get("storage", {}).get("files", [])}
        self.units = {u["name"]: u for u in config.get("systemd", {}).get("units", [])}

    def text(self, path: str) -> str:
        return file_contents(self.files[path])

    def quadlet(self, name: str) -> str:
        return self.text(f"/etc/containers/systemd/{name}.container")

    def starts_at_boot(self, name: str) -> bool:
        return "[Install]\nWantedBy=multi-user.target" in self.quadlet(name)

    def containers(self) -> set[str]:
        prefix = "/etc/containers/systemd/"
        return {p[len(prefix):-len(".container")] for p in self.files
                if p.startswith(prefix) and p.endswith(".container")}

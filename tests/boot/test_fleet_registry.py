"""Which registry the offline boot test serves: fleet.yaml's, and a broken fleet.yaml says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoker.boot.standins.report import fleet_registry
from stoker.fleet.errors import FleetError

REPO = Path(__file__).resolve().parents[2]
# a config with one Quadlet container pulling from the example fleet's registry
CONFIG = ('{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": '
          '"/etc/containers/systemd/web.container", "contents": {"source": '
          '"data:,%5BContainer%5D%0AImage%3Dregistry.example.org%2Fx%2Fweb%3A1%0A"}}]}}')


def _fleet(root: Path, text: str) -> Path:
    (root / "vms").mkdir(parents=True, exist_ok=True)
    (root / "fleet.yaml").write_text(text)
    return root


def test_the_repository_fleet_names_its_registry():
    assert fleet_registry(REPO) == "registry.ebisc.org/ebisc"


def test_no_fleet_here_is_no_registry(tmp_path):
    assert fleet_registry(tmp_path) is None


@pytest.mark.parametrize("text,where,cause", [
    ("registry: registry.example.org/x\nprovider: [openstack\n", "fleet.yaml:3:1", "not valid YAML"),
    ("registry: 12\n", "fleet.yaml:1:11", "registry: expected a string"),
])
def test_a_broken_fleet_yaml_is_an_error_naming_file_line_and_cause(tmp_path, text, where, cause):
    _fleet(tmp_path, text)
    with pytest.raises(FleetError) as exc:
        fleet_registry(tmp_path)
    assert where in str(exc.value) and cause in str(exc.value)


def test_boot_test_with_a_broken_fleet_yaml_says_where_before_building_anything(tmp_path, monkeypatch, capsys):
    from stoker.cli import main
    _fleet(tmp_path, "registry: registry.example.org/x\nprovider: [openstack\n")
    (tmp_path / "web.ign").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["boot-test", "web.ign", "--registry", "local"]) == 1
    err = capsys.readouterr().err
    assert "fleet.yaml:3:1: not valid YAML" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "cache").exists(), "nothing is built for a boot that cannot serve its images"

"""A VM definition that does not load stops the boot test and the fleet test with its problems
(file:line:column), before anything is built: checking the rendered config alone would check less
than the definition declares (its services, timers, ports) and still pass."""

import json
import shutil
from pathlib import Path

import pytest

from boot_sample import sample_config
from stoker.boot.errors import ConfigError
from stoker.boot.fleetinfo import expectations_for
from stoker.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    """A copy of the repository's fleet, the working directory, with build/tracker.ign rendered."""
    root = tmp_path / "fleet"
    root.mkdir()
    for name in ("fleet.yaml", "vms", "butane", "files"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    (root / "build").mkdir()
    (root / "build" / "tracker.ign").write_text(json.dumps(sample_config()))
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / "vms" / "tracker.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_intact_definition_adds_what_it_declares(fleet):
    exp = expectations_for("tracker", sample_config())
    assert {"mongodb.service", "tracker-webserver.service"} <= {s.name for s in exp.services}
    assert [(p.port, p.unit) for p in exp.ports if p.port == 80] == [(80, "tracker-webserver.service")]


@pytest.mark.parametrize("old,new,where,says", [
    ("services:\n", "services: [oops\n", "vms/tracker.yaml:17:10", "not valid YAML"),
    ('    ports: ["80:8000"]', "    ports: 8000", "vms/tracker.yaml:", "ports"),
    ("    image: tracker-webserver:latest", "    image: [1, 2]", "vms/tracker.yaml:", "image"),
])
def test_a_broken_definition_is_an_error_not_fewer_checks(fleet, old, new, where, says):
    edit(fleet, old, new)
    with pytest.raises(ConfigError) as exc:
        expectations_for("tracker", sample_config())
    text = str(exc.value)
    assert text.startswith("the definition of tracker does not load, so the boot test cannot check")
    assert where in text and says in text


def test_a_declared_port_that_does_not_parse_is_an_error(fleet):
    edit(fleet, '    ports: ["80:8000"]', '    ports: ["eighty:8000"]')
    with pytest.raises(ConfigError, match=r"^vms/tracker.yaml:36:\d+: port 'eighty:8000': host port 'eighty'"):
        expectations_for("tracker", sample_config())


@pytest.mark.parametrize("registry", ["local", "real"])
def test_boot_test_stops_before_building_anything(fleet, capsys, registry):
    edit(fleet, "services:\n", "services: [oops\n")
    assert main(["boot-test", "tracker", "--registry", registry]) == 1
    err = capsys.readouterr().err
    assert "stoker: error: the definition of tracker does not load" in err
    assert "vms/tracker.yaml:17:10: not valid YAML" in err and "Traceback" not in err
    assert not (fleet.parent / "cache").exists()


@pytest.mark.parametrize("argv", [["fleet-test"], ["fleet-test", "tracker", "bastion"]])
def test_fleet_test_does_not_leave_a_broken_vm_out(fleet, capsys, argv):
    edit(fleet, "services:\n", "services: [oops\n")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "tracker does not render: vms/tracker.yaml:17:10: not valid YAML" in err
    assert not (fleet.parent / "cache").exists()

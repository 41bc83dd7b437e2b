from pathlib import Path

import pytest

from boot_sample import sample_config
from stoker.boot.fleetinfo import _fleet_vm, expectations_for

REPO = Path(__file__).resolve().parents[2]


def test_declared_but_not_rendered_becomes_expected(monkeypatch):
    monkeypatch.chdir(REPO)
    if _fleet_vm("tracker") is None:
        pytest.skip("the fleet definition does not load here")
    exp = expectations_for("tracker", sample_config())
    assert {"mongodb.service", "tracker-webserver.service"} <= {s.name for s in exp.services}
    assert {"tracker.timer", "mongodb-backups.timer"} <= {t.name for t in exp.timers}
    assert 80 in {p.port for p in exp.ports}


def test_no_fleet_means_the_config_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = expectations_for("tracker", sample_config())
    assert [s.name for s in exp.services] == ["web.service"]

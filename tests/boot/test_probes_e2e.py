"""Container probes end to end: tracker's rendered config boots, and probe containers started with
testcontainers through the guest's forwarded Podman API see what the host cannot: tracker-webserver
reaches mongodb by name on the `tracker` network; each environment file reaches its service's
process and no one else (another container, a non-root user on the VM).

Slow (one TCG boot of tracker); skipped without the boot tools or testcontainers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stoker.boot.ignition import image_references
from stoker.boot.probes import GROUP, ProbeSpec
from stoker.boot.serve import serve_images
from stoker.boot.session import BootOptions, boot_test
from stoker.boot.standins import STANDINS
from stoker.boot.standins.catalog import PROBE
from stoker.boot.standins.publish import fleet_reference

from test_boot_e2e import FLEET_REGISTRY, REPO, _report

pytestmark = [pytest.mark.slow, pytest.mark.full_e2e]


# the `image` fixture (tests/conftest.py) skips without these
IMAGE_NEEDS = (("testcontainers", "testcontainers"),)


def test_tracker_probes_see_names_and_hidden_environment_files(image, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stoker.cli", "ignition", "tracker", "--dev-secrets",
                           "--build-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((tmp_path / "tracker.ign").read_text())
    spec = ProbeSpec(fleet_reference(FLEET_REGISTRY, PROBE.image), FLEET_REGISTRY, STANDINS)
    with serve_images(image_references(cfg), FLEET_REGISTRY, extra=(PROBE,)) as mirror:
        result = boot_test("tracker", cfg, image, BootOptions(run_dir=tmp_path / "run", registry_mirror=mirror,
                                                              timeout=2400, probes=spec))
    assert result.ok, _report(result)
    rows = {c.name: c for c in result.results.checks if c.group == GROUP}
    report = _report(result)
    reach = rows["tracker-webserver reaches mongodb:27017"]
    assert reach.ok and "network tracker" in reach.expected and reach.seen.endswith("connected"), report
    assert rows["tracker-webserver has the variables of /etc/stoker/tracker-webserver.env"].seen.startswith("1 of 1")
    for path in ("/etc/stoker/tracker.env", "/etc/stoker/mongodb.env"):
        assert "EACCES" in rows[f"{path} hidden from other containers"].seen, report
        assert rows[f"{path} unreadable by core"].seen == "Permission denied", report
    assert "probes done" in result.timings

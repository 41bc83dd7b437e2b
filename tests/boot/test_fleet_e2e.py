"""The whole fleet at once (`stoker fleet-test`): every VM booted in parallel on the private VDE
network, each VM's own checks, then every site through the bastion's ports 80 and 443.

Slow (every VM under TCG at the same time: 19.5 minutes on 2 shared cores, 2026-12-01) but run by
`make test` in CI. Skips, naming what is missing, without root, QEMU, vde2, docker-registry, skopeo, umoci, ...
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.slow

TOOLS = ("mmdebstrap", "qemu-system-x86_64", "qemu-img", "mke2fs", "ssh", "ssh-keygen",
         "docker-registry", "skopeo", "umoci", "vde_switch")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "building the image needs root"
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"missing {', '.join(absent)} (see .ci/apt-packages)"
    if (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) < 8 << 30:
        return "the fleet test needs about 1.5 GiB per VM, 8 GiB of RAM in all"
    return None


def _report(result) -> str:
    rows = []
    for name, r in sorted(result.vms.items()):
        rows += [f"{name}: {'ok  ' if c.ok else 'FAIL'} {c.group}: {c.name}: expected {c.expected}; saw {c.seen}"
                 for c in r.results.checks if not c.ok]
        rows.append(f"{name}: timings {r.timings}, run directory {r.run_dir}")
    rows += [f"site: {'ok  ' if c.ok else 'FAIL'} {c.name}: expected {c.expected}; saw {c.seen}"
             for c in result.sites.checks]
    return "\n".join(rows) + f"\nfleet timings: {result.timings}"


def test_the_whole_fleet_serves_every_site_through_the_bastion(tmp_path):
    why = _missing()
    if why:
        pytest.skip(why)
    from stoker.boot.cli import main_junit_suites
    from stoker.boot.fleettest import FleetOptions, render_fleet, run_fleet
    from stoker.boot.image import build_image
    from stoker.boot.junit import junit_xml
    from stoker.boot.standins.report import fleet_registry
    from stoker.fleet.definitions import load_fleet

    fleet = load_fleet()
    rendered = render_fleet(fleet=fleet)
    result = run_fleet(rendered, build_image(), fleet.data, fleet_registry(), FleetOptions())
    report = _report(result)
    assert result.ok, report
    assert sorted(result.vms) == ["bastion", "ims", "ims-staging", "tracker"]
    # every VM reports the address it was given as an addition, beside the SSH key and registry mirror
    for name, r in result.vms.items():
        added = {c.name for c in r.results.checks if c.group == "added by the test"}
        assert {"SSH key", "registry mirror", "private address"} <= added, (name, added)
    seen = {c.name: c.seen for c in result.sites.checks}
    assert "on ims-staging" in seen["cells-stage.ebisc.org https"], report
    assert "on ims" in seen["cells.ebisc.org https"] and "ims-staging" not in seen["cells.ebisc.org https"]
    assert "on tracker" in seen["tracker.ebisc.org http"], report
    xml = junit_xml(main_junit_suites(result))
    suites = {s.get("name"): s for s in ET.fromstring(xml)}
    assert set(suites) == {"boot.bastion", "boot.ims", "boot.ims-staging", "boot.tracker", "boot.fleet-sites"}
    assert all(s.get("failures") == "0" for s in suites.values())

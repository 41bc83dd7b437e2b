"""Rendering as a user sees it: determinism, fragments merged, size budget and
wrapping, `stoker validate`, and the .bu staying a valid Butane document."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from stoker.butane import translate
from stoker.cli import main
from stoker.fleet import budget
from stoker.fleet.definitions import load_fleet
from stoker.fleet.render import render_vm
from stoker.fleet.validation import validate_ignition_bytes

from .conftest import ROOT, Config, edit


def test_two_renders_are_byte_identical(tmp_path, capsys):
    for out in ("a", "b"):
        assert main(["ignition", "--all", "--root", str(ROOT), "--build-dir", str(tmp_path / out),
                     "--dev-secrets"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 8  # .bu and .ign for each of the four VMs
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_render_writes_butane_only_and_it_translates_cleanly(tmp_path, capsys):
    assert main(["render", "ims", "--root", str(ROOT), "--build-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert [p.name for p in tmp_path.iterdir()] == ["ims.bu"]
    result = translate((tmp_path / "ims.bu").read_text(), strict=True)
    assert result.ok, [e.raw() for e in result.report]
    assert result.ignition_version == "3.3.0"


def test_merge_of_fragments_keeps_every_fragments_units(repo, dev_secrets):
    (repo / "butane/one.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: one.service\n      enabled: true\n"
        "      contents: |\n        [Service]\n        ExecStart=/usr/bin/true\n"
        "        [Install]\n        WantedBy=multi-user.target\n"
        "storage:\n  files:\n    - path: /etc/one\n      contents: {inline: one}\n")
    (repo / "butane/two.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: two.service\n      enabled: true\n"
        "      contents: |\n        [Service]\n        ExecStart=/usr/bin/true\n"
        "        [Install]\n        WantedBy=multi-user.target\n"
        "storage:\n  files:\n    - path: /etc/two\n      contents: {inline: two}\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [selinux, one, two]\nusers:\n")
    fleet = load_fleet(repo)
    cfg = Config(json.loads(render_vm(fleet, "tracker", dev_secrets).full_ignition))
    assert {"selinux-enforcing.service", "one.service", "two.service", "tracker.timer",
            "var-mnt-cinder1.mount"} <= set(cfg.units)
    assert {"/etc/one", "/etc/two", "/etc/selinux/config", "/etc/hostname"} <= set(cfg.files)
    assert "/etc/ssh/sshd_config.d/40-stoker.conf" not in cfg.files  # the VM's own list replaced the default


def test_butane_version_is_configurable_per_vm(repo, dev_secrets):
    edit(repo / "vms/bastion.yaml", "users:\n", "butane_version: 1.5.0\nusers:\n")
    r = render_vm(load_fleet(repo), "bastion", dev_secrets)
    assert "version: 1.5.0" in r.butane
    assert json.loads(r.full_ignition)["ignition"]["version"] == "3.4.0"


def test_budget_numbers():
    b = budget.measure(b"x" * 49152, "openstack")
    assert (b.measured, b.fits) == (65536, False)
    assert budget.measure(b"x" * 49149, "openstack").fits  # 65,532 base64 characters
    assert not budget.measure(b"x" * 16385, "aws").fits
    assert budget.measure(b"x" * 32768, "hetzner").fits


def test_over_the_limit_config_is_wrapped_valid_and_smaller(fleet, dev_secrets):
    r = render_vm(fleet, "ims", dev_secrets, provider="aws")
    wrapped = budget.wrap(r.full_ignition, "3.3.0")
    assert len(wrapped) < len(r.full_ignition)
    assert budget.unwrap(wrapped) == r.full_ignition
    outer = json.loads(wrapped)
    assert outer["ignition"]["config"]["replace"]["compression"] == "gzip"
    checks = {c.name: c for c in validate_ignition_bytes(wrapped, "wrapped")}
    assert checks["replace"].status == "ok"
    assert all(c.status != "failed" for c in checks.values()), checks
    if shutil.which("ignition-validate"):
        assert checks["outer: ignition-validate"].status == "ok"


def test_render_wraps_automatically_when_over_the_limit(fleet, dev_secrets, monkeypatch):
    monkeypatch.setitem(budget.PROVIDERS, "aws", (10 * 1024, "raw"))
    r = render_vm(fleet, "ims", dev_secrets, provider="aws")
    assert r.wrapped and len(r.ignition) < 10 * 1024 < len(r.full_ignition)
    assert budget.unwrap(r.ignition) == r.full_ignition


@pytest.mark.skipif(not shutil.which("ignition-validate"), reason="Debian's ignition package not installed")
def test_every_config_passes_debians_ignition_validate(rendered, tmp_path):
    for name, (r, _) in rendered.items():
        path = tmp_path / f"{name}.ign"
        path.write_bytes(r.ignition)
        proc = subprocess.run(["ignition-validate", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_list_shows_every_vm(capsys):
    assert main(["list", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    for vm in ("ims", "ims-staging", "bastion", "tracker"):
        assert vm in out

"""`stoker validate` as a gate: it never says OK on a broken config, with or
without the external tools; its findings name the file the operator edits;
warnings and skipped checks fail under --strict."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from stoker.cli import main

from .conftest import ROOT, edit, line_col

SPECS = Path(__file__).resolve().parents[1] / "ignition" / "data" / "specs"


@pytest.fixture
def no_tools(tmp_path, monkeypatch):
    """A machine without ignition-validate, systemd-analyze, podman or a cached boot image."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python3",):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    import stoker.podman.dryrun as dryrun
    monkeypatch.setattr(dryrun, "quadlet_dryrun", functools.partial(dryrun.quadlet_dryrun, host_generators=()))


def validate(capsys, *args) -> tuple[int, str]:
    rc = main(["validate", *args])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out
    return rc, out


def ign(tmp_path, config, name="config.ign") -> str:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return str(path)


BROKEN = [
    ({"ignition": {"version": "3.5.0"}, "storage": {"files": [{"path": "etc/motd"}]}},
     "error at $.storage.files.0.path: path not absolute"),
    ({"ignition": {"version": "3.4.0"}, "systemd": {"units": [{"name": "web"}]}},
     "error at $.systemd.units.0.name: invalid systemd unit extension"),
    ({"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/etc/a"}, {"path": "/etc/a"}]}},
     "error at $.storage.files.1: duplicate entry defined"),
    ({"ignition": {"version": "3.6.0"}, "storage": {"files": [{"path": "/etc/a", "mode": 420.0}]}},
     "error at $.storage.files.0.mode: json: cannot unmarshal number 420.0"),
    ({"ignition": {"version": "3.2.0"}, "storage": {"files": [{"path": "/etc/a", "overwrite": True}]}},
     "error at $.storage.files.0.overwrite: overwrite must be false if source is unspecified"),
    ({"ignition": {"version": "3.3.0"}, "storage": {"links": [{"path": "/etc/l"}]}},
     "error at $.storage.links.0.target: link target is required"),
    ({"ignition": {"version": "3.3.0"}, "systemd": {"units": [{"name": "a.service", "dropins": [{"name": "x"}]}]}},
     "error at $.systemd.units.0.dropins.0.name: invalid systemd drop-in extension"),
    ({}, "error at $.ignition.version: invalid config version (couldn't parse)"),
    ([1], "json: cannot unmarshal array into Go value"),
    ({"ignition": {}}, "error at $.ignition.version: invalid config version (couldn't parse)"),
    ({"ignition": {"version": "3.9.0"}}, "unsupported config version"),
    ("{", "unexpected end of JSON input"),
    ("", "not a config (empty)"),
]


@pytest.mark.parametrize("config,expected", BROKEN, ids=range(len(BROKEN)))
def test_broken_configs_fail_without_any_external_tool(no_tools, tmp_path, capsys, config, expected):
    rc, out = validate(capsys, ign(tmp_path, config))
    assert rc == 1
    assert expected in out


@pytest.mark.parametrize("config,expected", BROKEN[:7], ids=range(7))
def test_broken_configs_fail_with_the_tools_too(tmp_path, capsys, config, expected):
    rc, out = validate(capsys, ign(tmp_path, config))
    assert rc == 1 and expected in out


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.ign")))
def test_every_spec_validates(no_tools, capsys, spec):
    rc, out = validate(capsys, str(SPECS / spec))
    assert rc == 0, out
    assert f"Ignition {spec[:-4]} (stoker)" in out


def test_an_unknown_key_is_a_warning_that_fails_only_under_strict(no_tools, tmp_path, capsys):
    path = ign(tmp_path, {"ignition": {"version": "3.3.0"}, "storage": {"filez": []}})
    rc, out = validate(capsys, path)
    assert rc == 0 and "warning at $.storage.filez: unused key filez" in out
    rc, out = validate(capsys, path, "--strict")
    assert rc == 1


def test_a_missing_tool_is_skipped_and_fails_under_strict(no_tools, tmp_path, capsys):
    path = ign(tmp_path, {"ignition": {"version": "3.3.0"}})
    rc, out = validate(capsys, path)
    assert rc == 0
    assert "skipped" in out and "not installed (Debian package: ignition" in out
    rc, out = validate(capsys, path, "--strict")
    assert rc == 1 and "--strict: warnings and skipped checks fail too" in out and "ignition-validate skipped" in out


@pytest.mark.skipif(not shutil.which("ignition-validate"), reason="ignition-validate is not installed")
def test_ignition_validate_that_does_not_know_the_spec_is_skipped_not_failed(tmp_path, capsys):
    rc, out = validate(capsys, ign(tmp_path, {"ignition": {"version": "3.5.0"}}))
    assert rc == 0, out
    assert "does not know spec 3.5.0" in out


def test_a_timer_with_a_bad_calendar_in_a_config_file(no_tools, tmp_path, capsys):
    unit = "[Timer]\nOnCalendar=daily at 8\n\n[Install]\nWantedBy=timers.target\n"
    rc, out = validate(capsys, ign(tmp_path, {"ignition": {"version": "3.3.0"}, "systemd": {"units": [
        {"name": "a.timer", "enabled": True, "contents": unit}]}}))
    assert rc == 1
    assert "$.systemd.units.0.contents (a.timer line 2): OnCalendar=daily at 8:" in out


def test_a_quadlet_typo_in_a_config_file(no_tools, tmp_path, capsys):
    text = "[Container]\nImage=registry.example/a:1\nPublishPorts=80:80\n"
    rc, out = validate(capsys, ign(tmp_path, {"ignition": {"version": "3.3.0"}, "storage": {"files": [
        {"path": "/etc/containers/systemd/a.container", "contents": {"source": "data:," + quote(text)}}]}}))
    assert rc == 1
    assert "(a.container line 3): unknown key 'PublishPorts' in [Container]; did you mean 'PublishPort'?" in out


def test_a_wrapped_config_is_checked_inside(tmp_path, capsys):
    from stoker.fleet.budget import wrap

    inner = json.dumps({"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "rel"}]}}).encode()
    rc, out = validate(capsys, ign(tmp_path, wrap(inner, "3.3.0").decode()))
    assert rc == 1
    assert "replace: Ignition 3.3.0 (stoker)" in out and "(replace)" in out and "path not absolute" in out


def test_the_fleet_validates(capsys):
    rc, out = validate(capsys, "--all", "--root", str(ROOT))
    assert rc == 0, out
    assert "failed" not in out


def test_a_vm_with_a_broken_definition_does_not_stop_the_others(repo, capsys):
    edit(repo / "vms/tracker.yaml", 'on_calendar: "*-*-* 07,13:00:00"', 'on_calendar: "twice a day"')
    line, col = line_col(repo / "vms/tracker.yaml", '"twice a day"')
    rc, out = validate(capsys, "--all", "--root", str(repo))
    assert rc == 1
    assert f"vms/tracker.yaml:{line}:{col}: timer 'tracker'" in out
    assert out.count("Ignition 3.3.0 (stoker)") == 3  # bastion, ims, ims-staging were checked


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_findings_name_the_fragment_line(repo, capsys):
    (repo / "butane/extra.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: bad.service\n      enabled: true\n"
        "      contents: |\n        [Service]\n        ExecStart=relative/command\n"
        "        [Install]\n        WantedBy=multi-user.target\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [extra]\nusers:\n")
    rc, out = validate(capsys, "tracker", "--root", str(repo))
    assert rc == 1, out
    assert "butane/extra.bu:5:7 (bad.service line 2)" in out
    # the units' temporary directory is never shown (the image cache may be under /tmp: CI with
    # XDG_CACHE_HOME=/tmp/..., where the tools line names its Quadlet generator)
    from stoker.boot.image import cache_root
    assert "/tmp/" not in out.replace(str(cache_root()), "")

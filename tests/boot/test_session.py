from pathlib import Path

import pytest

from boot_sample import data_url, sample_config
from stoker.boot.cli import resolve_target
from stoker.boot.errors import CommandError
from stoker.boot.ignition import MIRROR_DROPIN
from stoker.boot.image import Image
from stoker.boot.run import explain, run
from stoker.boot.session import image_limits, prepare_config
from stoker.errors import UsageError

OFFLINE = Image("offline", Path("/i/root.qcow2"), Path("/i/vmlinuz"), Path("/i/initrd.img"), "3.3.0", {})
FCOS = Image("fcos", Path("/f/root.qcow2"), None, None, "3.6.0", {})
KEY = "ssh-ed25519 AAAA test"


@pytest.mark.parametrize("mirror", [None, "10.0.2.2:5000"])
def test_the_config_boots_unchanged_but_for_the_listed_additions(mirror):
    cfg, added = prepare_config(sample_config(), KEY, mirror)
    original = sample_config()
    assert cfg["systemd"] == original["systemd"]
    assert [f for f in cfg["storage"]["files"] if f["path"] != MIRROR_DROPIN] == original["storage"]["files"]
    assert cfg["passwd"] == {"users": [{"name": "core", "sshAuthorizedKeys": [KEY]}]}
    assert [a.what for a in added] == ["SSH key"] + (["registry mirror"] if mirror else [])


def test_selinux_is_reported_as_not_exercised_offline():
    cfg = sample_config()
    cfg["storage"]["files"].append({"path": "/etc/selinux/config",
                                    "contents": {"source": data_url("SELINUX=enforcing\nSELINUXTYPE=targeted\n")}})
    (limit,) = image_limits(cfg, OFFLINE)
    assert limit[0] == "SELinux" and "NOT EXERCISED" in limit[2]
    assert image_limits(cfg, FCOS) == []


def test_resolve_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.ign").write_text("{}")
    assert resolve_target("x.ign") == ("x", Path("x.ign"))
    with pytest.raises(UsageError, match=r"^tracker: no such file, and no vms/ directory here"):
        resolve_target("tracker")
    (tmp_path / "vms").mkdir()
    (tmp_path / "vms" / "tracker.yaml").write_text("")
    with pytest.raises(UsageError, match=r"make ignition vm=tracker"):
        resolve_target("tracker")
    with pytest.raises(UsageError, match=r"^no VM named web in vms/ \(there are: tracker\)$"):
        resolve_target("web")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "tracker.ign").write_text("{}")
    assert resolve_target("tracker") == ("tracker", Path("build/tracker.ign"))
    with pytest.raises(UsageError, match="no such file"):
        resolve_target("missing.ign")


def test_run_wrapper_explains_failures():
    with pytest.raises(CommandError, match="is not installed"):
        run(["stoker-no-such-program"])
    with pytest.raises(CommandError, match=r"exited with status 3:\nboom"):
        run(["sh", "-c", "echo boom >&2; exit 3"])
    assert "killed by SIGKILL" in explain(["qemu"], -9)
    assert "127" in explain(["x"], 127) and "timed out" in explain(["x"], None)
    assert run(["sh", "-c", "echo $LC_ALL"]).stdout.strip() == "C.UTF-8"


def test_cli_refuses_a_newer_spec_before_building_anything(tmp_path, monkeypatch, capsys):
    from stoker.cli import main
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = tmp_path / "new.ign"
    config.write_text('{"ignition": {"version": "3.4.0"}}')
    assert main(["boot-test", str(config)]) == 1
    err = capsys.readouterr().err
    assert "spec 3.4.0" in err and "reads at most 3.3.0" in err and "Butane spec 1.4.0" in err
    assert not (tmp_path / "cache").exists()


def _fake_result(ok: bool, retryable: bool):
    from stoker.boot.checks import Results
    from stoker.boot.console import scan
    from stoker.boot.expect import Expectations
    from stoker.boot.session import BootResult
    results = Results()
    results.add("system", "system running", ok, "running", "running" if ok else "starting")
    result = BootResult("x", results, Expectations(), [])
    result.retryable = [f for f in scan("Oops: int3: 0000 [#1]") if f.retryable] if retryable else []
    return result


@pytest.mark.parametrize("outcomes,attempts", [
    ([(False, True), (True, False)], 2),   # an oops under TCG: booted again, passed
    ([(False, True), (False, True)], 2),   # twice: give up after the one retry
    ([(False, False)], 1),                 # the config's own failure: no retry
    ([(True, False)], 1),
])
def test_retry_once_on_kernel_oops(monkeypatch, outcomes, attempts):
    from stoker.boot import session
    calls = iter(outcomes)
    monkeypatch.setattr(session, "_boot_once", lambda *a, **kw: _fake_result(*next(calls)))
    result = session.boot_test("x", sample_config(), OFFLINE)
    assert result.attempts == attempts


def test_the_report_names_the_slowest_units_from_systemd_analyze_blame(capsys):
    """The fleet run's ims spent 12 minutes starting two containers; the report now says so."""
    from stoker.boot.cli import render_results
    result = _fake_result(True, False)
    result.slowest = ["12min 9.217s ims-elasticsearch.service", "12min 7.424s ims-postgres.service"]
    render_results("ims", result)
    out = " ".join(capsys.readouterr().out.split())
    assert ("slowest units to start (systemd-analyze blame): 12min 9.217s ims-elasticsearch.service, "
            "12min 7.424s ims-postgres.service") in out


def test_a_qemu_that_never_ran_is_no_clean_console(tmp_path, monkeypatch):
    """Found in review: QEMU exited at once, the console log was empty and the report still said
    "console and journal clean: ok" (the journal, never read, was passed as ""). A shell that exits 1
    stands for QEMU."""
    from stoker.boot import session
    from stoker.boot.checks import NOT_EXERCISED
    monkeypatch.setattr(session, "create_overlay", lambda base, dest: dest.write_text("") or dest)
    monkeypatch.setattr(session, "create_disk", lambda dest, size="1G": dest.write_text("") or dest)
    monkeypatch.setattr(session, "qemu_argv", lambda spec: ["sh", "-c", "echo 'qemu: could not open disk' >&2; exit 1"])
    opts = session.BootOptions(accel="tcg", run_dir=tmp_path / "run", retries=0)
    result = session.boot_test("web", sample_config(), OFFLINE, opts)
    rows = {(c.group, c.name): c for c in result.results.checks}
    assert not result.ok
    assert "QEMU exited with status 1: qemu: could not open disk" in rows["boot", "guest reachable over SSH"].seen
    assert not rows["console", "serial console"].ok
    journal = rows[NOT_EXERCISED, "journal clean"]
    assert journal.seen == "NOT RUN: the guest never answered over SSH, so its journal was not read"
    assert not [c for c in result.results.checks if c.group == "console" and c.ok]

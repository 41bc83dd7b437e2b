"""The --junit file of `stoker boot-test` and `stoker fleet-test` (no VM is booted: the boot is a fake).

Found in review: a run that errored out or was interrupted left an earlier run's JUnit file at the
--junit path, which CI then read as this run's result; a bad --junit path gave a traceback only
after the whole boot had run."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stoker.boot import cli, fleettest, session
from stoker.boot.checks import Results
from stoker.boot.errors import CommandError
from stoker.boot.expect import Expectations
from stoker.boot.image import Image
from stoker.boot.session import BootResult
from stoker.cli import main

REPO = Path(__file__).resolve().parents[2]
OFFLINE = Image("offline", Path("/i/root.qcow2"), Path("/i/vmlinuz"), Path("/i/initrd.img"), "3.3.0", {})
CONFIG = '{"ignition": {"version": "3.3.0"}}'


def _passed(name: str = "web") -> BootResult:
    results = Results()
    results.add("system", "system running", True, "running", "running")
    return BootResult(name, results, Expectations(), [])


@pytest.fixture(autouse=True)
def _keep_sigterm():
    """cmd_boot_test installs a SIGTERM handler; the test process gets its own back."""
    saved = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, saved)


@pytest.fixture
def boot(tmp_path, monkeypatch):
    """boot(outcome): the next boot returns `outcome` (a BootResult) or raises it; returns the list of
    the VMs booted. The working directory is a temporary one with web.ign."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "web.ign").write_text(CONFIG)
    monkeypatch.setattr(cli, "_image", lambda args: OFFLINE)
    booted = []

    def plan(outcome, during=lambda: None):
        def fake(name, cfg, image, options=None, event=None, expectations=None, after_checks=None):
            booted.append(name)
            during()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        monkeypatch.setattr(session, "boot_test", fake)
        return booted
    return plan


def _suite(path: Path) -> ET.Element:
    return ET.fromstring(path.read_text()).find("testsuite")


def _boot_test(junit: Path, target: str = "web.ign") -> int:
    return main(["boot-test", target, "--registry", "real", "--no-probes", "--junit", str(junit)])


def test_a_completed_run_writes_its_results_whole(boot, tmp_path):
    boot(_passed())
    junit = tmp_path / "build" / "junit" / "boot-web.xml"  # make's path: the directories are made
    assert _boot_test(junit) == 0
    suite = _suite(junit)
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == \
        ("boot.web", "1", "0", "0")
    assert os.listdir(junit.parent) == ["boot-web.xml"]  # no temporary file left beside it


@pytest.mark.parametrize("outcome,code,said", [
    (KeyboardInterrupt(), 130, "interrupted (Ctrl-C) before the run completed"),
    (CommandError("`qemu-system-x86_64` is not installed", ["qemu-system-x86_64"], 127), 1,
     "error: `qemu-system-x86_64` is not installed"),
])
def test_a_run_that_does_not_complete_replaces_the_last_pass_by_an_error(boot, tmp_path, outcome, code, said):
    junit = tmp_path / "boot-web.xml"
    boot(_passed())
    assert _boot_test(junit) == 0 and _suite(junit).get("failures") == "0"
    boot(outcome)
    assert _boot_test(junit) == code
    suite = _suite(junit)
    assert (suite.get("name"), suite.get("tests"), suite.get("errors")) == ("boot.web", "1", "1")
    assert suite.find("testcase/error").get("message") == said
    assert sorted(os.listdir(tmp_path)) == ["boot-web.xml", "web.ign"]


def test_bad_input_after_the_option_parse_replaces_the_last_pass(boot, tmp_path, capsys):
    junit = tmp_path / "boot-web.xml"
    boot(_passed())
    assert _boot_test(junit) == 0
    assert _boot_test(junit, "missing.ign") == 2
    assert "missing.ign: no such file" in capsys.readouterr().err
    suite = _suite(junit)
    assert suite.get("name") == "boot.missing" and suite.get("errors") == "1"
    assert suite.find("testcase/error").get("message") == "usage error: missing.ign: no such file"


def test_while_the_boot_runs_the_file_says_it_did_not_complete(boot, tmp_path):
    """A run killed outright (SIGKILL) cannot write anything at the end: the file it leaves says so."""
    junit = tmp_path / "boot-web.xml"
    boot(_passed())
    assert _boot_test(junit) == 0
    seen = {}
    boot(_passed(), during=lambda: seen.setdefault("suite", _suite(junit)))
    assert _boot_test(junit) == 0
    assert seen["suite"].get("errors") == "1"
    assert "did not complete" in seen["suite"].find("testcase/error").get("message")
    assert _suite(junit).get("errors") == "0"


SIGTERMED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from stoker.boot import cli, session
    from stoker.boot.image import Image
    from stoker.cli import main

    cli._image = lambda args: Image("offline", Path("/i/root.qcow2"), None, None, "3.3.0", {})

    def boot_test(*args, **kwargs):
        Path("booting").touch()
        time.sleep(60)
    session.boot_test = boot_test
    sys.exit(main(["boot-test", "web.ign", "--registry", "real", "--no-probes", "--junit", "boot-web.xml"]))
""")


def test_sigterm_replaces_the_last_pass_by_an_error(tmp_path):
    """A CI job cancelled: SIGTERM while the (fake) boot runs."""
    (tmp_path / "web.ign").write_text(CONFIG)
    old = ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="boot.web" tests="1" '
           'failures="0" errors="0" skipped="0"><testcase classname="boot.web.system" name="system running"/>'
           '</testsuite></testsuites>\n')
    (tmp_path / "boot-web.xml").write_text(old)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-c", SIGTERMED], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "booting").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "Traceback" not in err, err
    suite = _suite(tmp_path / "boot-web.xml")
    assert suite.get("errors") == "1" and suite.find("testcase/error") is not None
    assert sorted(os.listdir(tmp_path)) == ["boot-web.xml", "booting", "web.ign"]


def _unwritable(tmp_path: Path, kind: str) -> Path:
    if kind == "a directory":
        (tmp_path / "out").mkdir()
        return tmp_path / "out"
    if kind == "under a file":
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "boot.xml"
    return Path("/proc/stoker-boot.xml")  # a directory even root cannot write in


@pytest.mark.parametrize("kind", ["a directory", "under a file", "in /proc"])
def test_a_bad_junit_path_is_refused_before_anything_boots(boot, tmp_path, capsys, kind):
    booted = boot(_passed())
    junit = _unwritable(tmp_path, kind)
    assert _boot_test(junit) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stoker: --junit {junit}: cannot write a file there: ") and err.count("\n") == 1, err
    assert booted == []


def test_a_bad_fleet_junit_path_is_refused_before_anything_renders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(fleettest, "render_fleet", lambda *a: pytest.fail("rendered"))
    (tmp_path / "out").mkdir()
    assert main(["fleet-test", "--junit", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stoker: --junit {tmp_path / 'out'}: cannot write a file there: ") and "Traceback" not in err


def test_an_interrupted_fleet_test_replaces_the_last_pass_by_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(cli, "_image", lambda args: OFFLINE)
    junit = tmp_path / "fleet.xml"
    junit.write_text('<testsuites><testsuite name="boot.bastion" tests="1" failures="0" errors="0">'
                     '<testcase classname="boot.bastion.system" name="system running"/></testsuite></testsuites>')

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(fleettest, "run_fleet", interrupted)
    assert main(["fleet-test", "bastion", "--junit", str(junit)]) == 130
    suite = _suite(junit)
    assert (suite.get("name"), suite.get("tests"), suite.get("errors")) == ("boot.fleet-test", "1", "1")
    assert suite.find("testcase/error").get("message") == "interrupted (Ctrl-C) before the run completed"
    assert os.listdir(tmp_path) == ["fleet.xml"]

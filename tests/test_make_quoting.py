"""Values given to make (vm=, vms=, secrets=, to=, cloud=, ...) reach the shell quoted: a value with
shell syntax in it is passed to stoker as it is and never runs. stoker is replaced by a script that
prints its arguments, so the targets really run (the boot targets boot nothing)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


@pytest.fixture
def fake_stoker(tmp_path):
    script = tmp_path / "stoker-args"
    script.write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done; echo\n')
    script.chmod(0o755)
    return script


def make(fake_stoker, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed",
                           f"STOKER={fake_stoker}", *args], capture_output=True, text=True, timeout=60)


def evil_values(marker: Path) -> list[str]:
    """Values that would run `touch MARKER` if pasted into a recipe unquoted ($$ is make's $)."""
    return [f"tracker;touch {marker}", f"$$(touch {marker})", f"`touch {marker}`", f"x' ; touch {marker}; '",
            f"a|touch {marker}"]


@pytest.mark.parametrize("target,var,extra", [
    ("ignition", "vm", ()), ("validate", "vm", ()), ("history", "vm", ()), ("plan", "vm", ()),
    ("deploy", "vm", ("dry_run=1",)), ("adopt", "vm", ()), ("rollback", "vm", ()), ("boot", "vm", ()),
    ("boot-test", "vm", ("probes=0",)), ("rollout", "vms", ("dry_run=1",)),
    ("ignition", "secrets", ()), ("ignition", "provider", ()), ("rollback", "to", ("vm=tracker",)),
    ("status", "cloud", ()), ("rollout", "identity", ()), ("fleet-test", "JUNIT_DIR", ()),
    ("fleet-test", "BOOT_IMAGE", ()),
])
def test_a_value_with_shell_syntax_is_not_run(tmp_path, fake_stoker, target, var, extra):
    marker = tmp_path / "ran"
    for value in evil_values(marker):
        proc = make(fake_stoker, target, f"{var}={value}", *extra)
        assert proc.returncode == 0, proc.stderr
        assert not marker.exists(), f"make {target} {var}={value!r} ran a command: {proc.stdout}"
        literal = value.replace("$$", "$")  # what make hands on
        # vm= and vms= are lists of VMs: each word is one argument; any other value is one argument
        words = literal.split() if var in ("vm", "vms") else [literal]
        suffix = "/fleet.xml" if var == "JUNIT_DIR" else ""
        assert all(f"[{w}{suffix}]" in proc.stdout for w in words), proc.stdout


def test_stoker_gets_each_value_as_one_argument(fake_stoker):
    out = make(fake_stoker, "rollback", "vm=tracker", "to=a'b c", "cloud=x;y").stdout
    assert "[rollback][tracker][--cloud][x;y][--to][a'b c]" in out
    out = make(fake_stoker, "boot-test", "vm=tracker;id", "probes=0").stdout.splitlines()
    assert out[0] == "[ignition][tracker;id][--dev-secrets]"
    assert out[1] == "[boot-test][tracker;id][--image][offline][--junit][build/junit/boot-tracker;id.xml][--no-probes]"


def test_vms_is_still_a_list_of_vms(fake_stoker):
    out = make(fake_stoker, "rollout", "vms=ims tracker", "dry_run=1").stdout.splitlines()
    assert out[0] == "[ignition][ims][tracker][--dev-secrets]"
    assert out[1].startswith("[rollout][ims][tracker]")
    out = make(fake_stoker, "boot-test").stdout.splitlines()
    assert [line.split("]")[1] for line in out[1:]] == ["[bastion", "[ims", "[ims-staging", "[tracker"]


def test_an_empty_vm_is_still_a_usage_error(fake_stoker):
    proc = make(fake_stoker, "plan")
    assert proc.returncode != 0 and "usage: make plan vm=NAME" in proc.stderr

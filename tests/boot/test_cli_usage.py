"""Usage errors of `stoker boot`, `stoker boot-test` and `stoker fleet-test`: exit 2 and one line.

Found in review: `stoker fleet-test nosuchvm` exited 1 (the code of failed checks) where `stoker
boot-test nosuchvm` exited 2, and boot-test did not name the VMs there are."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KNOWN = "bastion, ims, ims-staging, tracker"


def _stoker(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """stoker in `cwd`, with its image cache there: a run that got as far as building never touches ~/.cache."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cwd / "cache"))
    return subprocess.run([sys.executable, "-m", "stoker.cli", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True)


@pytest.fixture
def fleet_copy(tmp_path):
    """A copy of the repository's fleet definitions (no build/: nothing rendered)."""
    for name in ("vms", "files", "butane", "schemas"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "fleet.yaml", tmp_path / "fleet.yaml")
    return tmp_path


@pytest.mark.parametrize("argv", [
    ("boot", "nosuchvm"), ("boot-test", "nosuchvm"), ("fleet-test", "nosuchvm"), ("fleet-test", "ims", "nosuchvm"),
])
def test_an_unknown_vm_is_a_usage_error_naming_the_vms_there_are(argv, fleet_copy):
    proc = _stoker(*argv, cwd=fleet_copy)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"stoker: no VM named nosuchvm in vms/ (there are: {KNOWN})\n"


def test_a_vm_whose_file_is_broken_is_known_and_says_why(fleet_copy):
    (fleet_copy / "vms" / "broken.yaml").write_text("services: [\n")
    proc = _stoker("fleet-test", "nosuchvm", cwd=fleet_copy)
    assert proc.returncode == 2
    known = KNOWN.replace("bastion", "bastion, broken")
    assert proc.stderr == f"stoker: no VM named nosuchvm in vms/ (there are: {known})\n"
    proc = _stoker("fleet-test", "broken", cwd=fleet_copy)
    assert proc.returncode == 1 and proc.stderr.startswith("stoker: error: broken does not render: vms/broken.yaml:"), \
        proc.stderr


def test_a_known_vm_not_rendered_yet_says_how_to_render_it(tmp_path):
    (tmp_path / "vms").mkdir()
    (tmp_path / "vms" / "web.yaml").write_text("")
    proc = _stoker("boot-test", "web", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "stoker: build/web.ign does not exist: render it first with `make ignition vm=web`\n"


def test_without_vms_a_name_is_neither_vm_nor_file(tmp_path):
    proc = _stoker("boot", "web", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "stoker: web: no such file, and no vms/ directory here to find a VM of that name\n"


def test_vms_named_without_the_bastion_are_a_usage_error(fleet_copy):
    proc = _stoker("fleet-test", "ims", "tracker", cwd=fleet_copy)
    assert proc.returncode == 2
    assert proc.stderr == ("stoker: the VMs named (ims, tracker) include no bastion: the fleet test checks every "
                           "site through the VM that publishes port 443; name it too\n")


def test_the_whole_fleet_with_a_broken_vm_is_refused_not_tested_without_it(fleet_copy):
    """Found fixing the unknown-VM message: `stoker fleet-test` left a VM whose file does not load out
    of the run, silently, and could pass without it."""
    (fleet_copy / "vms" / "broken.yaml").write_text("services: [\n")
    proc = _stoker("fleet-test", cwd=fleet_copy)
    assert proc.returncode == 1 and proc.stderr.startswith("stoker: error: broken does not render: vms/broken.yaml:"), \
        proc.stderr

"""Every host program a boot needs is checked before QEMU starts, and a missing one is reported in one
form, with its Debian package, exit 2: a missing `ssh` no longer waits out the SSH timeout."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from fakehost import CONFIG, fake_bin, fake_image, kill_all, pids_of
from stoker.boot.errors import MissingProgram
from stoker.boot.ssh import Guest


def _line(program: str, package: str) -> str:
    return f"stoker: {program} not found: install Debian package {package} (or `sudo make deps`)"


def _boot_test(tmp_path, monkeypatch, without, registry_images=(), extra=()):
    from stoker.boot import cli as bcli
    from stoker.cli import main
    bindir, pids = fake_bin(tmp_path, qemu="hang", ssh="down", without=without)
    (tmp_path / "runs").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "runs"))  # run directories, if any
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bcli, "_image", lambda args: fake_image(tmp_path))
    monkeypatch.setattr(bcli, "_images_to_serve", lambda args, cfg: (list(registry_images), "registry.example.org/x"))
    (tmp_path / "web.ign").write_text(CONFIG)
    t0 = time.monotonic()
    try:
        code = main(["boot-test", "web.ign", "--accel", "tcg", "--no-probes", "--timeout", "20", *extra])
    finally:
        kill_all(pids)
    return code, time.monotonic() - t0, pids


def test_a_missing_ssh_is_named_at_once_not_after_the_ssh_timeout(tmp_path, monkeypatch, capsys):
    code, took, pids = _boot_test(tmp_path, monkeypatch, without=("ssh",))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().splitlines() == [_line("ssh", "openssh-client")]
    assert took < 10 and pids_of(pids, "qemu") == [], "QEMU did not start"


def test_every_missing_program_is_named_in_the_same_form(tmp_path, monkeypatch, capsys):
    code, _, pids = _boot_test(tmp_path, monkeypatch, registry_images=["registry.example.org/x/web:1"],
                               without=("qemu-system-x86_64", "qemu-img", "ssh-keygen", "docker-registry", "skopeo"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert [line.removeprefix("stoker: ") for line in err] == [
        _line(p, k).removeprefix("stoker: ") for p, k in (
            ("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"),
            ("ssh-keygen", "openssh-client"), ("docker-registry", "docker-registry"), ("skopeo", "skopeo"))]
    assert pids_of(pids, "qemu") == []


def test_without_a_test_registry_its_programs_are_not_needed(tmp_path, monkeypatch, capsys):
    # no image to serve: docker-registry and skopeo are not asked for; QEMU starts and the boot
    # fails for want of SSH (the fake answers nothing) within --timeout
    code, _, pids = _boot_test(tmp_path, monkeypatch, without=("docker-registry", "skopeo"), extra=["--timeout", "2"])
    captured = capsys.readouterr()
    assert code == 1 and "not found" not in captured.err
    assert pids_of(pids, "qemu")


def test_fleet_test_asks_for_the_vde_switch_too(tmp_path, monkeypatch, capsys):
    from stoker.cli import main
    bindir, _ = fake_bin(tmp_path, without=("vde_switch",))
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(["fleet-test", "bastion", "tracker"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [_line("vde_switch", "vde2")]


def test_the_guest_does_not_take_a_missing_ssh_for_a_guest_that_does_not_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    guest = Guest(2222, tmp_path / "key")
    with pytest.raises(MissingProgram, match=r"^ssh not found: install Debian package openssh-client"):
        guest.reachable()
    with pytest.raises(MissingProgram):
        guest.sh("true")

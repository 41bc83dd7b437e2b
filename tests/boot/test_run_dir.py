"""Run directories (the throwaway SSH private key, the booted config, the console log) do not pile up
in /tmp: removed at the end of every run, passed, failed, an error or interrupted (test_interrupt.py),
unless --keep, which keeps them and says where. The directory is 0700 and the key 0600 always."""

from __future__ import annotations

import contextlib
import stat
import tempfile
from pathlib import Path

import pytest

from fakehost import CONFIG, REPO, fake_bin, fake_image, kill_all
from stoker.boot.errors import ImageError
from stoker.boot.session import BootOptions, boot_test


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """Where tempfile puts run directories during the test."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))
    return runs


def _host(tmp_path, monkeypatch, **modes):
    bindir, pids = fake_bin(tmp_path, **modes)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return pids


def _boot(tmp_path, **options):
    events: list[str] = []
    result = boot_test("web", {"ignition": {"version": "3.3.0"}}, fake_image(tmp_path),
                       BootOptions(accel="tcg", retries=0, **options), event=events.append)
    return result, events


def test_a_failed_boot_leaves_no_run_directory(tmp_path, monkeypatch, runs):
    pids = _host(tmp_path, monkeypatch, qemu="fail")
    try:
        result, events = _boot(tmp_path)
    finally:
        kill_all(pids)
    assert not result.ok and "QEMU exited with status 1" in result.results.failed[0].seen
    assert list(runs.iterdir()) == []
    assert not any("kept" in e for e in events)


def test_an_error_before_qemu_leaves_no_run_directory(tmp_path, monkeypatch, runs):
    pids = _host(tmp_path, monkeypatch)
    (tmp_path / "bin" / "qemu-img").write_text("#!/bin/sh\necho 'qemu-img: disk full' >&2\nexit 1\n")
    with pytest.raises(Exception, match="disk full"):
        _boot(tmp_path)
    kill_all(pids)
    assert list(runs.iterdir()) == []


def test_keep_keeps_it_says_where_and_only_its_owner_reads_it(tmp_path, monkeypatch, runs):
    pids = _host(tmp_path, monkeypatch, qemu="fail")
    try:
        result, events = _boot(tmp_path, keep=True)
    finally:
        kill_all(pids)
    (kept,) = runs.iterdir()
    assert f"run directory kept: {kept}" in events
    assert result.run_dir == kept and (kept / "console.log").parent == kept
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert stat.S_IMODE((kept / "id_ed25519").stat().st_mode) == 0o600


def test_a_run_directory_the_caller_chose_is_0700_too(tmp_path, monkeypatch, runs):
    pids = _host(tmp_path, monkeypatch, qemu="fail")
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    try:
        _boot(tmp_path, run_dir=chosen)
    finally:
        kill_all(pids)
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o700  # it holds the private key
    assert stat.S_IMODE((chosen / "id_ed25519").stat().st_mode) == 0o600


@pytest.mark.parametrize("keep", [False, True], ids=["default", "--keep"])
def test_stoker_boot_removes_its_run_directory_when_the_vm_is_off_unless_keep(tmp_path, monkeypatch, runs,
                                                                              capsys, keep):
    from stoker.boot import cli as bcli
    from stoker.cli import main
    pids = _host(tmp_path, monkeypatch, qemu="boot-exit", ssh="ok")  # the guest powers itself off after 3 s
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bcli, "_image", lambda args: fake_image(tmp_path))
    (tmp_path / "web.ign").write_text(CONFIG)
    try:
        code = main(["boot", "web.ign", "--accel", "tcg", "--registry", "real"] + (["--keep"] if keep else []))
    finally:
        kill_all(pids)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "web is up" in err
    left = list(runs.iterdir())
    if keep:
        assert len(left) == 1 and f"run directory kept: {left[0]}\n" in err
    else:
        assert left == [] and "--keep keeps it" in err


def test_the_fleet_run_directory_goes_when_the_fleet_test_fails_early(tmp_path, monkeypatch, runs):
    from stoker.boot import fleettest
    from stoker.fleet.definitions import load_fleet

    @contextlib.contextmanager
    def no_images(*args, **kwargs):
        raise ImageError("no stand-in image for registry.example.org/x:1")
        yield
    monkeypatch.setattr(fleettest, "serve_images", no_images)
    monkeypatch.chdir(REPO)
    fleet = load_fleet()
    rendered = fleettest.render_fleet(["bastion", "tracker"], fleet)
    with pytest.raises(ImageError, match="no stand-in"):
        fleettest.run_fleet(rendered, fake_image(tmp_path), fleet.data, "registry.example.org/x",
                            fleettest.FleetOptions(accel="tcg"))
    assert list(runs.iterdir()) == []

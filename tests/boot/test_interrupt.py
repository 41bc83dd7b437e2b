"""A signal stops the whole run: `stoker boot-test` and `stoker fleet-test` get SIGINT, SIGTERM or SIGHUP
(Ctrl-C, a cancelled CI job, a closed terminal) while QEMU, the test registry, the VDE switch and ssh
commands run; every one of them is gone afterwards, the run directory too, and the run ends with one
line saying so and a non-zero status. Real processes (fakehost's tiny stand-ins) and real signals."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fakehost import CONFIG, REPO, alive, fake_bin, finish, kill_all, output, pids_of, start_driver, wait_for


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_stops_qemu_and_the_registry_and_removes_the_run_directory(tmp_path, sig):
    bindir, pids = fake_bin(tmp_path, qemu="hang")
    (tmp_path / "web.ign").write_text(CONFIG)
    proc = start_driver(tmp_path, bindir, ["boot-test", "web.ign", "--accel", "tcg", "--no-probes"])
    try:
        wait_for(lambda: pids_of(pids, "qemu") and pids_of(pids, "registry"), 60, "QEMU and registry", proc)
        started = pids_of(pids, "qemu") + pids_of(pids, "registry")
        assert list((tmp_path / "runs").glob("stoker-boot-web-*"))
        os.kill(proc.pid, sig)
        out, err = finish(proc, 60)
        assert proc.returncode == 128 + sig, (proc.returncode, err)
        last = err.strip().splitlines()[-1]
        assert last == (f"stoker: interrupted by {signal.Signals(sig).name}: "
                        "every process this run started is stopped"), err
        assert [p for p in started if alive(p)] == []
        assert list((tmp_path / "runs").glob("stoker-*")) == []
    finally:
        kill_all(pids, proc)


def _other_thread(pid: int) -> int:
    """The id of one of the process's threads that is not its main thread."""
    tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir() if int(t.name) != pid]
    assert tids, "the driver runs no other thread"
    return tids[0]


@pytest.mark.parametrize("to", ["process", "thread"])
def test_ctrl_c_during_the_fleet_checks_stops_within_seconds(tmp_path, to):
    """Each VM is up and its checks hang in ssh (a long `systemctl is-system-running --wait`):
    SIGINT ends the run within a few seconds, ssh commands, QEMU, VDE switch and registry gone.
    The kernel may hand a process's signal to any of its threads: `thread` sends it to one that
    is not the main thread, whose wait must still notice it."""
    bindir, pids = fake_bin(tmp_path, qemu="boot", ssh="hang")
    vms = ["bastion", "tracker"]
    proc = start_driver(tmp_path, bindir, ["fleet-test", *vms, "--accel", "tcg"], cwd=REPO)
    try:
        wait_for(lambda: len(pids_of(pids, "ssh")) >= len(vms), 120, "a hanging check in each VM", proc)
        started = {kind: pids_of(pids, kind) for kind in ("ssh", "qemu", "vde", "registry")}
        assert all(started.values()), started
        t0 = time.monotonic()
        os.kill(proc.pid if to == "process" else _other_thread(proc.pid), signal.SIGINT)
        out, err = finish(proc, 60)
        took = time.monotonic() - t0
        assert proc.returncode == 130, err
        assert took < 10, f"took {took:.0f}s to stop"
        assert err.strip().splitlines()[-1] == ("stoker: interrupted by SIGINT: "
                                                "every process this run started is stopped"), err
        left = {kind: [p for p in found if alive(p)] for kind, found in started.items()}
        assert left == {kind: [] for kind in started}
        assert list((tmp_path / "runs").glob("stoker-*")) == []
    finally:
        kill_all(pids, proc)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_stoker_boot_powers_off_on_ctrl_c_and_stops_at_once_on_a_hangup(tmp_path, sig):
    """`stoker boot` holds the VM for the user: Ctrl-C (as its message says) powers the guest off over
    SSH; a closed terminal (SIGHUP) stops QEMU without that. Either way nothing is left running."""
    bindir, pids = fake_bin(tmp_path, qemu="boot", ssh="ok")
    (tmp_path / "web.ign").write_text(CONFIG)
    proc = start_driver(tmp_path, bindir, ["boot", "web.ign", "--accel", "tcg"])
    try:
        wait_for(lambda: "Press Ctrl-C to power it off" in output(proc)[1], 60, "the VM up", proc)
        started = pids_of(pids, "qemu") + pids_of(pids, "registry")
        os.kill(proc.pid, sig)
        out, err = finish(proc, 60)
        assert proc.returncode == 128 + sig, err
        assert ("powering the VM off" in err) == (sig == signal.SIGINT), err
        assert err.strip().splitlines()[-1] == (f"stoker: interrupted by {sig.name}: "
                                                "every process this run started is stopped")
        assert [p for p in started if alive(p)] == []
        assert list((tmp_path / "runs").glob("stoker-*")) == []
    finally:
        kill_all(pids, proc)


def test_a_second_ctrl_c_cuts_the_clean_poweroff_short(tmp_path):
    """The guest does not answer the poweroff (its ssh hangs): a second Ctrl-C ends that ssh and
    stops QEMU at once, and still leaves nothing behind."""
    bindir, pids = fake_bin(tmp_path, qemu="boot", ssh="hang")
    (tmp_path / "web.ign").write_text(CONFIG)
    proc = start_driver(tmp_path, bindir, ["boot", "web.ign", "--accel", "tcg"])
    try:
        wait_for(lambda: "Press Ctrl-C to power it off" in output(proc)[1], 60, "the VM up", proc)
        os.kill(proc.pid, signal.SIGINT)
        wait_for(lambda: pids_of(pids, "ssh"), 30, "the poweroff over ssh", proc)
        started = pids_of(pids, "qemu") + pids_of(pids, "registry") + pids_of(pids, "ssh")
        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = finish(proc, 60)
        assert time.monotonic() - t0 < 5, err
        assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("stoker: interrupted by SIGINT")
        assert [p for p in started if alive(p)] == []
        assert list((tmp_path / "runs").glob("stoker-*")) == []
    finally:
        kill_all(pids, proc)

"""Input and output of `stoker butane` as the official Butane v0.29.0 CLI does them
(internal/main.go): closed or full standard streams, and -o targets that are
pipes, devices, read-only files, hard links or symlink loops. These run the real
entry point as a subprocess, because the descriptors themselves are under test."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

STOKER = Path(sys.executable).with_name("stoker")
OK = b"variant: fcos\nversion: 1.4.0\n"
OUT = '{"ignition":{"version":"3.3.0"}}\n'

pytestmark = pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")


def sh(script: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    """`script` under sh with $S the stoker executable; stdout and stderr as text."""
    (cwd / "ok.bu").write_bytes(OK)
    return subprocess.run(["sh", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "S": str(STOKER)}, timeout=120, **kw)


# The official v0.29.0 (the Go runtime) opens closed standard streams on /dev/null
# at start-up: a closed stdin reads as empty, a closed stdout swallows the config.
def test_closed_stdin(tmp_path):
    run = sh('"$S" butane <&-', tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "Error translating config: error parsing variant; must be specified\n"


def test_closed_stdout(tmp_path):
    run = sh('"$S" butane ok.bu >&-', tmp_path)
    assert (run.returncode, run.stderr) == (0, "")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stdout_full(tmp_path):
    run = sh('"$S" butane ok.bu > /dev/full', tmp_path)
    assert run.returncode == 1
    assert run.stderr == ("Failed to write config to /dev/stdout: write /dev/stdout: "
                          "no space left on device\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_output_to_full_device(tmp_path):
    run = sh('"$S" butane ok.bu -o /dev/full', tmp_path)
    assert run.returncode == 1
    assert run.stderr == ("Failed to write config to /dev/full: write /dev/full: "
                          "no space left on device\n")


def test_output_to_dev_stdout_pipe(tmp_path):
    run = sh('"$S" butane ok.bu -o /dev/stdout | cat', tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, OUT, "")


def test_output_to_fifo(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    run = sh('cat fifo > got & "$S" butane ok.bu -o fifo; rc=$?; wait; exit $rc', tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    assert (tmp_path / "got").read_text() == OUT
    assert stat.S_ISFIFO((tmp_path / "fifo").lstat().st_mode)


def test_output_to_dev_stdout_appending_file_is_written_not_replaced(tmp_path):
    # The official tool opens /dev/stdout with O_TRUNC: the shell's file is truncated
    # and written, and keeps receiving the shell's later output (same inode).
    run = sh('( echo before; "$S" butane ok.bu -o /dev/stdout; echo after ) >> cap.txt',
             tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "cap.txt").read_text() == OUT + "after\n"


def test_output_keeps_hard_links(tmp_path):
    (tmp_path / "a.ign").write_text("old\n")
    os.link(tmp_path / "a.ign", tmp_path / "b.ign")
    run = sh('"$S" butane ok.bu -o a.ign', tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "b.ign").read_text() == OUT
    assert (tmp_path / "a.ign").stat().st_ino == (tmp_path / "b.ign").stat().st_ino


def test_output_symlink_loop(tmp_path):
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    run = sh('"$S" butane ok.bu -o loop1', tmp_path)
    assert run.returncode == 1
    assert run.stderr == "failed to open loop1: open loop1: too many levels of symbolic links\n"
    assert os.readlink(tmp_path / "loop1") == "loop2"


def test_output_is_a_directory(tmp_path):
    (tmp_path / "d").mkdir()
    run = sh('"$S" butane ok.bu -o d', tmp_path)
    assert (run.returncode, run.stderr) == (1, "failed to open d: open d: is a directory\n")


def test_output_replaced_file_keeps_mode(tmp_path):
    (tmp_path / "o.ign").write_text("old old old old old old old old old old\n")
    os.chmod(tmp_path / "o.ign", 0o600)
    run = sh('"$S" butane ok.bu -o o.ign', tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "o.ign").read_text() == OUT
    assert stat.S_IMODE((tmp_path / "o.ign").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ign", "ok.bu"]



def test_output_replaced_file_keeps_its_extended_attributes(tmp_path):
    """Review fault: the rename dropped xattrs (ACLs, SELinux labels, user.* tags); the official
    tool truncates in place and keeps them."""
    target = tmp_path / "o.ign"
    target.write_text("old\n")
    try:
        os.setxattr(target, "user.tag", b"hello")
    except OSError as exc:
        pytest.skip(f"this filesystem takes no user.* extended attributes: {exc}")
    run = sh('"$S" butane ok.bu -o o.ign', tmp_path)
    assert run.returncode == 0, run.stderr
    assert target.read_text() == OUT
    assert os.getxattr(target, "user.tag") == b"hello"


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_nobody(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user (setpriv)")
    if subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True).returncode:
        pytest.skip("setpriv (util-linux) is not installed")
    os.chmod(tmp_path, 0o777)


def test_read_only_output_file_is_refused(tmp_path):
    as_nobody(tmp_path)
    (tmp_path / "ro.ign").write_text("old\n")
    os.chmod(tmp_path / "ro.ign", 0o444)
    os.chown(tmp_path / "ro.ign", 65534, 65534)
    run = sh(" ".join(NOBODY) + ' "$S" butane ok.bu -o ro.ign', tmp_path)
    assert run.returncode == 1
    assert run.stderr == "failed to open ro.ign: open ro.ign: permission denied\n"
    assert (tmp_path / "ro.ign").read_text() == "old\n"


def test_writable_file_in_read_only_directory_is_written(tmp_path):
    as_nobody(tmp_path)
    d = tmp_path / "rodir"
    d.mkdir()
    (d / "f.ign").write_text("old\n")
    os.chmod(d / "f.ign", 0o666)
    os.chmod(d, 0o555)
    run = sh(" ".join(NOBODY) + ' "$S" butane ok.bu -o rodir/f.ign', tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    assert (d / "f.ign").read_text() == OUT
    assert (d / "f.ign").stat().st_uid == 0  # owner kept


def test_other_users_file_keeps_its_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to own a file as another user")
    (tmp_path / "o.ign").write_text("old\n")
    os.chown(tmp_path / "o.ign", 65534, 65534)
    run = sh('"$S" butane ok.bu -o o.ign', tmp_path)
    assert run.returncode == 0, run.stderr
    st = (tmp_path / "o.ign").stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert (tmp_path / "o.ign").read_text() == OUT


def test_a_broken_standard_output_ends_the_run_by_sigpipe_silently(tmp_path):
    """Review fault: `stoker butane big.bu | head -c 10` printed "broken pipe" and exited 1; Go's
    runtime dies of SIGPIPE on fd 1, silently (the shell shows 141)."""
    import signal
    files = "".join(f"    - path: /f{i}\n      contents: {{inline: '{'x' * 200}'}}\n" for i in range(3000))
    (tmp_path / "big.bu").write_text(f"variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n{files}")
    proc = subprocess.Popen([str(STOKER), "butane", "big.bu"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, restore_signals=True)
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == -signal.SIGPIPE
    assert err == b""


def test_ctrl_c_ends_the_run_by_sigint_silently(tmp_path):
    """Review fault: Ctrl-C printed "stoker: interrupted" and exited 130; the official tool is
    killed by SIGINT with no message."""
    import signal
    import time
    fifo = tmp_path / "in.bu"
    os.mkfifo(fifo)
    proc = subprocess.Popen([str(STOKER), "butane", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)  # the interpreter is up and blocked opening the FIFO
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT
    assert (out, err) == (b"", b"")

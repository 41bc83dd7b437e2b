"""Guest.sh: a connection SSH could not set up is tried again; a script's own failure is not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stoker.boot import ssh
from stoker.boot.ssh import Guest


@pytest.fixture
def answers(monkeypatch):
    """Queue of (exit status, stdout, stderr) the fake ssh gives, one per call."""
    queue: list[tuple[int, str, str]] = []
    calls: list[list[str]] = []

    def fake_run(argv, check=False, timeout=None, env=None):
        assert env is None, "the boot test's ssh runs in run()'s minimal environment: no agent"
        calls.append(argv)
        rc, out, err = queue.pop(0)
        return subprocess.CompletedProcess(argv, rc, out, err)
    monkeypatch.setattr(ssh, "run", fake_run)
    monkeypatch.setattr(ssh.time, "sleep", lambda s: None)
    return queue, calls


def test_a_busy_guest_that_drops_the_connection_is_asked_again(answers):
    queue, calls = answers
    queue += [(255, "", "Connection timed out during banner exchange\n"),
              (255, "", "kex_exchange_identification: read: Connection reset by peer\n"),
              (0, "running\n", "")]
    assert Guest(2222, Path("key")).sh("systemctl is-system-running") == (0, "running\n")
    assert len(calls) == 3


def test_it_gives_up_after_three_attempts_and_says_why(answers):
    queue, calls = answers
    queue += [(255, "", "Connection timed out during banner exchange\n")] * 3
    guest = Guest(2222, Path("key"))
    assert guest.sh("true") == (255, "")
    assert len(calls) == 3 and "banner exchange" in guest.last_stderr


@pytest.mark.parametrize("rc,err", [(255, "the script itself exited 255\n"), (1, "Connection refused\n")])
def test_a_script_that_ran_is_not_run_again(answers, rc, err):
    queue, calls = answers
    queue += [(rc, "out\n", err)]
    assert Guest(2222, Path("key")).sh("exit 255") == (rc, "out\n")
    assert len(calls) == 1

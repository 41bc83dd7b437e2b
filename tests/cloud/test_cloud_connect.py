"""Reaching the cloud: Keystone that refuses or fails at first is retried with
backoff, a cloud that stays out of reach fails as step `connect` saying how
often stoker tried and what to do, and the libraries' own log lines never reach
the terminal."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
from cloud_testdata import tracker_config
from stoker.cloud.connection import Cloud


def _point_auth_at(fake, tmp_path, monkeypatch, url: str) -> None:
    clouds = tmp_path / "late-clouds.yaml"
    clouds.write_text(fake.clouds_yaml().replace(f"{fake.base}/identity", url))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))


@pytest.fixture
def keystone_on_its_own_port(fake, tmp_path, monkeypatch):
    """serve(**knobs): Keystone on a port of its own (fake.serve_identity);
    clouds.yaml points at it."""
    def serve(**knobs):
        url = fake.serve_identity(**knobs)
        _point_auth_at(fake, tmp_path, monkeypatch, url)
        return url
    yield serve
    fake.close()


def _cli(repo, *argv: str) -> subprocess.CompletedProcess:
    """The real `stoker` command in a process of its own, so its stderr is
    exactly what a user sees (inside pytest the root logger has pytest's
    handlers, which would swallow stray library lines)."""
    return subprocess.run([sys.executable, "-m", "stoker.cli", *argv, "--root", str(repo.root)],
                          capture_output=True, text=True, timeout=120)


def test_a_keystone_that_starts_listening_late_is_waited_for(keystone_on_its_own_port, fake, repo, stoker,
                                                             monkeypatch):
    url = keystone_on_its_own_port()  # refuses until opened
    waits = []

    def sleep(seconds):  # Keystone comes up during stoker's first wait, however slow this machine is
        waits.append(seconds)
        fake.open_identity()
        time.sleep(seconds)
    connect = Cloud.connect.__func__
    monkeypatch.setattr(Cloud, "connect", classmethod(lambda cls, *a, **kw: connect(cls, *a, sleep=sleep, **kw)))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert f"retried after connect: no connection to {url} (Connection refused) (attempt 1 of 4, next in 0.01s)" in out
    assert out.count("retried after connect") == 1 and waits[0] == 0.01
    assert fake.server_by_name("tracker")["status"] == "ACTIVE"


def test_retries_of_a_refusing_keystone_print_nothing_but_stoker(keystone_on_its_own_port, fake, repo):
    url = keystone_on_its_own_port(listen_after=0, reset_connections=2)
    done = _cli(repo, "deploy", "tracker", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "only stoker speaks: nothing from keystoneauth or openstacksdk"
    assert f"retried after connect: no connection to {url}" in done.stdout
    assert "(attempt 2 of 4, next in 0.02s)" in done.stdout and "Deployed tracker" in done.stdout


def test_a_cloud_out_of_reach_fails_as_step_connect_with_the_attempts_and_a_way_out(keystone_on_its_own_port,
                                                                                     fake, repo):
    url = keystone_on_its_own_port()  # never listens
    done = _cli(repo, "plan", "tracker")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("stoker: error: vm tracker, step connect: cannot connect to cloud fake: ")
    assert f"no connection to {url} (Connection refused) (gave up after 4 attempts in " in lines[0]
    assert lines[1].startswith("  how to recover: check that Keystone at " + url + " is reachable")
    assert "STOKER_RETRIES" in lines[1] and "run the same command again" in lines[1]
    assert len(lines) == 2, "nothing but stoker's message on stderr"
    assert fake.requests == []


@pytest.mark.parametrize("method, path, status", [("POST", r"/auth/tokens$", 503),   # Keystone overloaded
                                                  ("GET", r"^/identity$", 502),       # its proxy has no backend
                                                  ("GET", r"^/identity$", 0)])        # connection dropped
def test_keystone_failing_twice_is_retried_and_the_plan_succeeds(fake, repo, stoker, method, path, status):
    fake.fail_next(method, path, status, count=2)
    code, out, err = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2, err
    assert "create server tracker" in out
    assert not [f for f in fake.faults if f.remaining]


def test_a_deploy_reports_each_retry_of_connect(fake, repo, stoker):
    fake.fail_next("POST", r"/auth/tokens$", 503, count=2)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "retried after connect: HTTP 503" in out and "(attempt 2 of 4, next in 0.02s)" in out


def test_keystone_failing_for_good_names_the_status_and_the_attempts(fake, repo, stoker):
    fake.fail_next("POST", r"/auth/tokens$", 503, count=10)
    code, _, err = stoker("plan", "tracker")
    assert code == 1
    assert "step connect: cannot connect to cloud fake: HTTP 503" in err and "gave up after 4 attempts" in err
    assert "keeps failing on the cloud's side" in err


def test_a_service_that_keeps_dropping_connections_names_the_step_and_the_attempts(fake, repo, stoker):
    fake.fail_next("GET", r"/servers/detail$", 0, count=10)
    code, _, err = stoker("plan", "tracker")
    assert code == 1
    assert "vm tracker, step find server: no connection to http://127.0.0.1:" in err
    assert "gave up after 4 attempts" in err and "how to recover: check that the cloud fake is reachable" in err


def test_a_retried_connect_does_not_stop_a_forced_rebuild(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    boots = fake.server_by_name("tracker")["boots"]
    fake.fail_next("POST", r"/auth/tokens$", 503)
    code, out, err = stoker("deploy", "tracker", "--yes", "--force")
    assert code == 0, err
    assert "retried after connect" in out
    assert fake.server_by_name("tracker")["boots"] == boots + 1, "--force rebuilt the server"


def test_library_log_records_still_reach_a_caller_who_configured_logging(keystone_on_its_own_port, repo, stoker,
                                                                          caplog):
    keystone_on_its_own_port()
    with caplog.at_level(logging.WARNING):  # a caller's handler on the root logger
        code, _, err = stoker("plan", "tracker")
    assert code == 1 and "step connect" in err
    assert any(r.name.startswith("keystoneauth") for r in caplog.records)
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("keystoneauth").handlers)
    assert logging.getLogger("keystoneauth").propagate


def test_a_rebuild_after_retries_is_still_done_once(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.fail_next("POST", r"/auth/tokens$", 0)
    fake.fail_next("GET", r"/servers/detail$", 503)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len([r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]) == 1

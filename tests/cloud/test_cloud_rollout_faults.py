"""`stoker rollout` where it used to go wrong (review 12): a server the rollout
never changed, a config changed after its gates, SSH that cannot work, signals,
interrupted steps, crashes inside a server's turn, stale JUnit, definitions that
do not load, and damaged records. The fleet, the gates' commands and the check
seam are those of test_cloud_rollout."""

from __future__ import annotations

import json
import os
import signal

import pytest

from cloud_testdata import KEY
from test_cloud_rollout import (FLEET, NEW_KEY, VMS, _foreign_lock, _rebuilt_in_order, config,  # noqa: F401
                                fleet, rollout)

import stoker.rollout.live as live
from stoker.boot.checks import Results
from stoker.rollout.record import load_all

REAL_LIVE_CHECKER = live.live_checker  # before the fleet fixture replaces it


def _passing(vm, target, facts) -> Results:
    results = Results()
    results.add("system", "system running", True, "running", "running")
    return results


def _checks(monkeypatch, check) -> None:
    monkeypatch.setattr(live, "live_checker", lambda root, identity=None: check)


def _last(repo):
    return load_all(repo.root / "state")[-1]


def _locks(fake) -> dict:
    return {vm: fake.server_by_name(vm)["metadata"].get("stoker_rollout_lock") for vm in VMS}


def _fake_ssh(repo, tmp_path, monkeypatch, script: str) -> None:
    """`ssh` is `script`, seen by the real post-deploy checker, whose checks get 2 s."""
    monkeypatch.setattr(live, "live_checker", REAL_LIVE_CHECKER)
    (repo.root / "fleet.yaml").write_text(FLEET.replace("rollout:\n", "rollout:\n  check_timeout: 2\n"))
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    (bin_ / "ssh").write_text("#!/bin/sh\n" + script)
    (bin_ / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")


# 1. rollback only of a server this rollout changed, never under another's lock

def test_a_server_locked_by_another_operator_mid_rollout_is_neither_rebuilt_nor_rolled_back(
        fake, repo, fleet, rollout, monkeypatch):
    def check(vm, target, facts):
        if vm == "tracker-staging":   # meanwhile alice breaks our lock on tracker
            _foreign_lock(fake, "tracker")
        return _passing(vm, target, facts)
    _checks(monkeypatch, check)
    code, out, err = rollout("rollout", "--all", "--yes", "--auto-rollback")
    assert code == 1
    assert _rebuilt_in_order(fake) == ["tracker-staging"]
    assert "rolling back" not in out
    assert "alice@ops-laptop" in json.loads(fake.server_by_name("tracker")["metadata"]["stoker_rollout_lock"])["owner"]
    assert fake.server_by_name("tracker")["metadata"]["stoker_config_sha256"] == fleet["first"]["tracker"]
    s = _last(repo).server("tracker")
    assert s.outcome == "failed" and s.rollback is None
    assert "locked by rollout" in s.detail and "not changed by this rollout: nothing to roll back" in s.detail


@pytest.mark.parametrize("auto", [True, False])
def test_a_refused_rebuild_is_not_rolled_back_nor_offered(fake, repo, fleet, rollout, auto):
    tid = fake.server_by_name("tracker")["id"]
    fake.fail_next("POST", rf"/servers/{tid}/action$", 409, body_key="rebuild")
    code, out, _ = rollout("rollout", "--all", "--yes", *(["--auto-rollback"] if auto else []))
    assert code == 1
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker"], "one refused rebuild request, no second"
    assert fake.server_by_name("tracker")["metadata"]["stoker_config_sha256"] == fleet["first"]["tracker"]
    assert "rolling back" not in out and "stoker rollback tracker" not in out
    assert "nothing to roll back" in _last(repo).server("tracker").detail


# 2. the deployed config is the gated one

def test_a_config_rewritten_during_the_gates_is_not_deployed(fake, repo, fleet, rollout, monkeypatch):
    import stoker.rollout.gates as gates_module

    def run_gate(argv, cwd):
        if argv[3:5] == ["boot-test", "bastion"]:   # `make ignition` in another terminal
            repo.write_build(config("tracker", keys=(NEW_KEY,)), "tracker")
        return 0, "passed"
    monkeypatch.setattr(gates_module, "run_subprocess", run_gate)
    code, out, _ = rollout("rollout", "--all", "--yes", "--auto-rollback")
    assert code == 1
    assert _rebuilt_in_order(fake) == ["tracker-staging"]
    assert fake.server_by_name("tracker")["metadata"]["stoker_config_sha256"] == fleet["first"]["tracker"]
    rec = _last(repo)
    assert rec.outcome == "halted" and "build/tracker.ign changed since the gates" in rec.server("tracker").detail


# 4. SSH checked before the lock and any rebuild

def test_missing_ssh_is_a_usage_error_before_any_work(fake, repo, fleet, rollout, monkeypatch, tmp_path):
    path = os.environ["PATH"]
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    before = len(fake.mutating_calls())
    code, out, err = rollout("rollout", "tracker", "--yes")
    assert code == 2
    assert "ssh not found: install Debian package openssh-client (or `sudo make deps`)" in err
    assert len(fake.mutating_calls()) == before and fleet["gates"] == []
    monkeypatch.setenv("PATH", path)
    code, out, err = rollout("rollout", "tracker", "--yes", "--identity", str(tmp_path / "nokey"))
    assert code == 2 and f"--identity {tmp_path / 'nokey'}: no readable key file there" in err


def test_ssh_to_the_bastion_failing_stops_before_the_lock(fake, repo, fleet, rollout, monkeypatch, tmp_path):
    _fake_ssh(repo, tmp_path, monkeypatch, "echo 'core@192.0.2.10: Permission denied (publickey).' >&2\nexit 255\n")
    before = len(fake.mutating_calls())
    code, out, err = rollout("rollout", "tracker", "--yes", "--skip-boot-test", "--auto-rollback")
    assert code == 1
    assert len(fake.mutating_calls()) == before, "no lock written, nothing rebuilt"
    assert "SSH to the bastion core@192.0.2.10 failed before any change: core@192.0.2.10: Permission denied" in err
    assert _last(repo).outcome == "refused"


# 3. the operator's agent

def test_the_live_checks_use_the_operators_agent(fake, repo, fleet, rollout, monkeypatch, tmp_path):
    dump = tmp_path / "ssh-env"
    _fake_ssh(repo, tmp_path, monkeypatch, f"env >> {dump}\necho 'Permission denied (publickey).' >&2\nexit 255\n")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/user/1000/agent.sock")
    rollout("rollout", "tracker", "--yes", "--skip-boot-test")
    assert "SSH_AUTH_SOCK=/run/user/1000/agent.sock" in dump.read_text().splitlines()


# 5, 6, 7. signals and Ctrl-C: locks released, the record says where

def test_sigterm_during_the_checks_releases_the_locks_and_records_where(fake, repo, fleet, rollout, monkeypatch):
    def check(vm, target, facts):
        os.kill(os.getpid(), signal.SIGTERM)   # a CI job cancelled
        return _passing(vm, target, facts)
    _checks(monkeypatch, check)
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM" in err
    assert _locks(fake) == {vm: None for vm in VMS}
    rec = _last(repo)
    assert rec.outcome == "interrupted"
    assert rec.detail == "stopped by SIGTERM at tracker-staging, step post-deploy checks"
    s = rec.server("tracker-staging")
    assert s.outcome == "rebuilt" and s.server == fake.server_by_name("tracker-staging")["id"]


def test_ctrl_c_at_the_end_of_the_ignition_wait_records_the_rebuild(fake, repo, fleet, rollout, monkeypatch):
    import stoker.cloud.deploy as deploy
    real = deploy.execute

    def execute(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(deploy, "execute", execute)
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 130
    rec = _last(repo)
    assert rec.outcome == "interrupted" and rec.detail.startswith("stopped by the operator (Ctrl-C) at tracker-staging")
    s = rec.server("tracker-staging")
    assert s.outcome == "rebuilt" and s.server == fake.server_by_name("tracker-staging")["id"]
    assert rec.server("tracker").outcome == "untouched"


def test_ctrl_c_during_the_locks_wait_removes_the_locks(fake, repo, fleet, rollout, monkeypatch):
    import stoker.rollout.lock as lock

    def verify(*a, **k):
        raise KeyboardInterrupt   # within the settle wait, after every write
    monkeypatch.setattr(lock, "verify", verify)
    code, _, _ = rollout("rollout", "--all", "--yes", "--skip-boot-test")
    assert code == 130
    assert _locks(fake) == {vm: None for vm in VMS}
    assert _rebuilt_in_order(fake) == []


# 8. anything raised in a server's turn: failed, recorded, rolled back; bad site names refused

def test_a_crashing_checker_fails_the_server_and_auto_rollback_restores_it(fake, repo, fleet, rollout, monkeypatch):
    def check(vm, target, facts):
        if target.plan.config.sha256 in fleet["first"].values():
            return _passing(vm, target, facts)   # the previous config checks fine
        raise FileNotFoundError(2, "No such file or directory", "ssh-keygen")
    _checks(monkeypatch, check)
    code, out, err = rollout("rollout", "--all", "--yes", "--auto-rollback")
    assert code == 1 and "Traceback" not in out + err
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker-staging"]
    rec = _last(repo)
    s = rec.server("tracker-staging")
    assert rec.outcome == "halted" and s.outcome == "rolled back"
    assert "FileNotFoundError: [Errno 2] No such file or directory: 'ssh-keygen'" in s.detail
    assert _locks(fake) == {vm: None for vm in VMS}


def test_a_crashing_checker_quoting_a_secret_leaves_it_nowhere(fake, repo, fleet, rollout, monkeypatch):
    from stoker.cloud.diff import secret_values
    seen: list[str] = []

    def check(vm, target, facts):
        if target.plan.config.sha256 in fleet["first"].values():
            return _passing(vm, target, facts)
        secret = sorted(secret_values(target.plan.config.document))[0]
        seen.append(secret)
        raise RuntimeError(f"ssh said: DB_PASSWORD={secret}")
    _checks(monkeypatch, check)
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 1 and seen
    record = "".join(
        p.read_text() for p in (repo.root / "state" / "rollouts").glob("*.json"))
    junit = "".join(p.read_text() for p in (repo.root / "build" / "junit").glob("*.xml"))
    for text in (out, err, record, junit):
        assert seen[0] not in text
    assert "ssh said: DB_PASSWORD=" in record


def test_a_site_that_is_not_a_host_name_is_refused_with_its_line(fake, repo, fleet, rollout):
    (repo.root / "fleet.yaml").write_text(FLEET.replace("tracker: tracker.example.org", "tracker: tracker..example.org"))
    before = len(fake.mutating_calls())
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 1 and "Traceback" not in out + err
    assert "fleet.yaml:6:12" in err and "sites.tracker" in err
    assert len(fake.mutating_calls()) == before


# 9. JUnit never stays green after a rollout that did not check

def test_a_halted_rollout_leaves_no_earlier_pass_in_junit(fake, repo, fleet, rollout):
    assert rollout("rollout", "--all", "--yes", "--skip-boot-test")[0] == 0
    junit = repo.root / "build" / "junit"
    assert 'failures="0"' in (junit / "rollout-tracker.xml").read_text()
    for vm in VMS:   # the next change
        repo.write_build(config(vm, keys=(NEW_KEY,)), vm)
    fake.ignition_outcome = "failure"
    assert rollout("rollout", "--all", "--yes", "--skip-boot-test")[0] == 1
    for vm in VMS:
        text = (junit / f"rollout-{vm}.xml").read_text()
        assert "<error" in text and "halted at tracker-staging" in text, vm


# 10. a definition that does not load stops at the gates

def test_a_definition_that_does_not_load_stops_at_the_validation_gate(fake, repo, fleet, rollout):
    (repo.root / "vms" / "tracker.yaml").write_text("description: tracker\nusers: {}\nservices: {web: {image: 1}}\n")
    before = len(fake.mutating_calls())
    code, out, _ = rollout("rollout", "tracker", "--yes", "--skip-boot-test", "--auto-rollback")
    assert code == 1
    assert len(fake.mutating_calls()) == before
    assert "gate: validate tracker: failed (the definition of tracker does not load" in out


# 11. --yes checked first

def test_no_yes_outside_a_terminal_is_a_usage_error_before_the_boot_tests(fake, repo, fleet, rollout):
    code, out, err = rollout("rollout", "--all")
    assert code == 2 and "pass --yes" in err
    assert fleet["gates"] == [] and not (repo.root / "state" / "rollouts").exists()


# 12. the smaller ones

@pytest.mark.parametrize("setting, words", [
    ("lock_minutes: 99999999999", "rollout.lock_minutes"),
    ("ssh_user: ''", "rollout.ssh_user"),
    ("check_timeout: 10000000000000", "rollout.check_timeout")])
def test_out_of_range_settings_are_errors_with_their_line(fake, repo, fleet, rollout, setting, words):
    (repo.root / "fleet.yaml").write_text(FLEET.replace("rollout:\n", f"rollout:\n  {setting}\n"))
    code, out, err = rollout("rollout", "--all", "--dry-run")
    assert code == 1 and "Traceback" not in out + err
    assert "fleet.yaml:9:" in err and words in err


def test_a_lock_shorter_than_the_checks_is_warned_about(fake, repo, fleet, rollout):
    (repo.root / "fleet.yaml").write_text(FLEET.replace("rollout:\n", "rollout:\n  lock_minutes: 10\n"))
    code, out, _ = rollout("rollout", "--all", "--dry-run")
    assert code == 0
    assert "warning: the lock expires after 10 minutes, but the checks of 3 server(s) may take up to 30 minutes" in out


@pytest.mark.parametrize("content", ["{", "[]", '{"id": "x"}', '{"id":"x","operator":"o","started":null}',
                                     '{"id":"x","operator":"o","started":"2026","order":"tracker"}',
                                     '{"id":"x","operator":"o","started":"2026","order":["tracker"],'
                                     '"servers":[{"vm":"tracker","checks":[1]}]}'])
def test_a_damaged_record_is_named_and_the_others_still_shown(fake, repo, fleet, rollout, content):
    assert rollout("rollout", "tracker", "--yes", "--skip-boot-test")[0] == 0
    good = _last(repo).id
    damaged = repo.root / "state" / "rollouts" / "zz-damaged.json"
    damaged.write_text(content)
    for argv in (["history"], ["history", "tracker"], ["history", "--json"]):
        code, out, err = rollout(*argv)
        assert code == 0 and good in out, argv
        assert f"{damaged} is damaged" in err and "Traceback" not in err, argv


def test_a_relative_root_gives_the_boot_tests_an_absolute_junit_path(fake, repo, fleet, monkeypatch):
    from stoker.cli import main

    monkeypatch.chdir(repo.root.parent)
    assert main(["rollout", "tracker", "--yes", "--root", repo.root.name]) == 0
    assert fleet["gates"][0] == ["boot-test", "tracker", "--junit", str(repo.root / "build" / "junit" / "boot-tracker.xml")]

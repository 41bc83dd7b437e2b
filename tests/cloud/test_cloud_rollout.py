"""`stoker rollout` against the local OpenStack, through the real openstacksdk.

Three VMs: tracker-staging (extends tracker), tracker and the bastion, each
with its data volume. The gates' commands (boot-test, fleet-test) and the
post-deploy checks over SSH are seams faked here; tests/rollout runs the
checks over SSH against a booted VM."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest

from cloud_testdata import KEY, PLACEMENT_DEFAULTS, VOLUME_ID, device, tracker_config

from stoker.boot.checks import Results

VMS = {"tracker": VOLUME_ID,  # the volume the fake starts with
       "tracker-staging": "6a2d3f8b-01bc-4def-9012-3456789abcde",
       "bastion": "7b3e4a9c-12cd-4ef0-a123-456789abcdef"}
ADDRESSES = {"tracker": "10.0.0.13", "tracker-staging": "10.0.0.12", "bastion": "10.0.0.10"}
_LOADS = "users: {core: {ssh_keys: [operators]}}\nservices: {}\n"  # a definition that loads (the gate loads it)
DEFINITIONS = {"tracker": "description: tracker\n" + _LOADS, "tracker-staging": "extends: tracker\n" + _LOADS,
               "bastion": "description: the public entry\n" + _LOADS}
NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNlY29uZC1vcGVyYXRvci1rZXktZm9yLXRlc3Rz operator2@example"

FLEET = f"""\
registry: registry.example.org/fleet
provider: openstack
ssh_keys:
  operators: ['{KEY}']
sites:
  tracker: tracker.example.org
  tracker-staging: tracker-staging.example.org
rollout:
  public_address: 192.0.2.10
""" + PLACEMENT_DEFAULTS + "".join(f"""  {vm}:
    flavor: m1.small
    address: {ADDRESSES[vm]}
    volume: {{name: {vm}-data, size: 50}}
""" for vm in VMS)


def config(vm: str, keys=(KEY,)) -> dict:
    doc = tracker_config(vm=vm, device=device(VMS[vm]))
    doc["passwd"]["users"][0]["sshAuthorizedKeys"] = list(keys)
    return doc


class Checks:
    """The post-deploy check seam: passes, or fails for the VMs in `fail` when
    they run a config other than their first (so a rollback passes)."""

    def __init__(self):
        self.fail: set[str] = set()
        self.good: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    def __call__(self, vm, target, facts) -> Results:
        self.calls.append((vm, target.plan.config.sha256))
        results = Results()
        results.add("system", "system running", True, "running", "running")
        if vm in self.fail and target.plan.config.sha256 not in self.good:
            results.add("service", "tracker-webserver.service", False, "active (running)",
                        "failed (failed), enabled", "tracker-webserver.service: Main process exited, status=1")
        else:
            results.add("service", "tracker-webserver.service", True, "active (running)", "active (running)")
        return results


@pytest.fixture
def fleet(repo, deployed_fleet, monkeypatch):
    """The three VMs deployed once (history with a successful Ignition each), then
    a change of fleet.yaml's kind: an SSH key added to every VM."""
    first = deployed_fleet(FLEET, {vm: (VMS[vm], DEFINITIONS[vm]) for vm in VMS}, config)
    for vm in VMS:
        repo.write_build(config(vm, keys=(KEY, NEW_KEY)), vm)
    checks = Checks()
    checks.good = set(first.values())
    import stoker.rollout.live as live
    monkeypatch.setattr(live, "live_checker", lambda root, identity=None: checks)
    gates: list[list[str]] = []

    def run_gate(argv, cwd):
        gates.append(argv[3:])
        return 0, "passed"
    import stoker.rollout.gates as gates_module
    monkeypatch.setattr(gates_module, "run_subprocess", run_gate)
    return {"first": first, "checks": checks, "gates": gates}


@pytest.fixture
def rollout(cli):
    """Run `stoker rollout|history ...` in-process; (exit code, stdout, stderr)."""
    return cli


def _rebuilt_in_order(fake) -> list[str]:
    names = {s["id"]: s["name"] for s in fake.servers.values()}
    return [names[r.path.split("/")[-2]] for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]


def _sha(repo, vm) -> str:
    return hashlib.sha256((repo.root / "build" / f"{vm}.ign").read_bytes()).hexdigest()


def test_rollout_goes_staging_then_production_then_bastion_and_records_it(fake, repo, fleet, rollout):
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 0, out + err
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker", "bastion"]
    assert [vm for vm, _ in fleet["checks"].calls] == ["tracker-staging", "tracker", "bastion"]
    for vm in VMS:
        meta = fake.server_by_name(vm)["metadata"]
        assert meta["stoker_config_sha256"] == _sha(repo, vm) and meta["stoker_ignition"] == "success"
        assert "stoker_rollout_lock" not in meta, "the lock is released at the end"
    # the gates ran before any change: a boot test per changed VM, the fleet test (the bastion changes)
    assert fleet["gates"] == [["boot-test", vm, "--junit", str(repo.root / "build" / "junit" / f"boot-{vm}.xml")]
                              for vm in ("tracker-staging", "tracker", "bastion")] + [["fleet-test"]]
    # each rebuild carried the lock (kept by the rebuild's metadata)
    rebuilds = [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]
    assert all("stoker_rollout_lock" in r.body["rebuild"]["metadata"] for r in rebuilds)
    assert "order: tracker-staging → tracker → bastion" in out
    assert "+ key ssh-ed25519 operator2@example" in out or "operator2@example" in out
    # the record: who, when, configs, gates, checks, outcome; 0700/0600
    records = list((repo.root / "state" / "rollouts").glob("*.json"))
    assert len(records) == 1
    assert stat.S_IMODE(records[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(records[0].parent.stat().st_mode) == 0o700
    rec = json.loads(records[0].read_text())
    assert rec["outcome"] == "done" and rec["skip_boot_test"] is False and rec["operator"]
    assert rec["configs"]["tracker"] == {"sha256": _sha(repo, "tracker"), "previous": fleet["first"]["tracker"],
                                         "action": "rebuild"}
    assert [(g["name"], g["vm"], g["status"]) for g in rec["gates"]][:3] == [
        ("validate", "tracker-staging", "passed"), ("validate", "tracker", "passed"), ("validate", "bastion", "passed")]
    assert all(s["outcome"] == "done" and s["checks"] for s in rec["servers"])
    junit = (repo.root / "build" / "junit" / "rollout-tracker.xml").read_text()
    assert 'testsuite name="rollout.tracker.deploy"' in junit and 'failures="0"' in junit
    code, out, _ = rollout("history", "tracker")
    assert code == 0 and rec["id"] in out and "done" in out and "checks 2/2 passed" in out


def test_nothing_changed_means_nothing_to_do(fake, repo, fleet, rollout):
    assert rollout("rollout", "--all", "--yes")[0] == 0
    before = len(fake.mutating_calls())
    code, out, _ = rollout("rollout", "--all", "--yes")
    assert code == 0 and "nothing to do" in out
    assert len(fake.mutating_calls()) == before


def test_dry_run_prints_the_sequence_and_changes_nothing(fake, repo, fleet, rollout):
    before = len(fake.mutating_calls())
    code, out, err = rollout("rollout", "--all", "--dry-run")
    assert code == 0, err
    assert len(fake.mutating_calls()) == before
    assert fleet["gates"] == [] and fleet["checks"].calls == []
    for line in ("1. tracker-staging: rebuild server tracker-staging", "2. tracker: rebuild server tracker",
                 "3. bastion: rebuild server bastion", "would run `stoker boot-test tracker`",
                 "would run `stoker fleet-test` (the bastion (bastion) changes)", "dry run: nothing was changed"):
        assert line in out
    assert not (repo.root / "state" / "rollouts").exists()


def _fail_gate(monkeypatch, failing, output: str) -> None:
    """The gate whose argv `failing` picks fails with `output`; every other gate passes."""
    import stoker.rollout.gates as gates_module
    monkeypatch.setattr(gates_module, "run_subprocess",
                        lambda argv, cwd: (1, output) if failing(argv) else (0, "ok"))


def test_a_failed_boot_test_stops_before_any_change(fake, repo, fleet, rollout, monkeypatch):
    _fail_gate(monkeypatch, lambda argv: argv[4] == "tracker", "FAILED service tracker-webserver.service")
    before = len(fake.mutating_calls())
    code, out, _ = rollout("rollout", "--all", "--yes")
    assert code == 1
    assert len(fake.mutating_calls()) == before, "no change to the cloud"
    assert "gate boot-test tracker failed" in out and "nothing was changed" in out


def test_a_failed_fleet_test_stops_unless_skip_boot_test(fake, repo, fleet, rollout, monkeypatch):
    _fail_gate(monkeypatch, lambda argv: argv[3] == "fleet-test", "FAILED https tracker.example.org")
    before = len(fake.mutating_calls())
    code, out, _ = rollout("rollout", "--all", "--yes")
    assert code == 1 and len(fake.mutating_calls()) == before
    assert "gate fleet-test failed" in out and "nothing was changed" in out
    code, out, err = rollout("rollout", "--all", "--yes", "--skip-boot-test")
    assert code == 0, out + err
    from stoker.rollout.record import load_all
    rec = load_all(repo.root / "state")[-1]
    assert rec.skip_boot_test is True and rec.outcome == "done"
    assert {(g.name, g.status) for g in rec.gates if g.name != "validate"} == {
        ("boot-test", "skipped by operator"), ("fleet-test", "skipped by operator")}
    code, out, _ = rollout("history")
    assert "--skip-boot-test" in out


def test_a_failure_at_the_second_server_halts_and_auto_rollback_restores_it(fake, repo, fleet, rollout):
    fleet["checks"].fail = {"tracker"}
    code, out, err = rollout("rollout", "--all", "--yes", "--auto-rollback")
    assert code == 1
    # the bastion, after the failing server, is untouched
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker", "tracker"]
    assert fake.server_by_name("bastion")["metadata"]["stoker_config_sha256"] == fleet["first"]["bastion"]
    # the failing server runs its previous config again, checked the same way
    assert fake.server_by_name("tracker")["metadata"]["stoker_config_sha256"] == fleet["first"]["tracker"]
    assert fleet["checks"].calls[-1] == ("tracker", fleet["first"]["tracker"])
    assert "FAILED: tracker: service tracker-webserver.service: expected active (running); saw failed" in out
    assert "Main process exited" in out, "the failing check's evidence"
    assert "rolled back" in out
    from stoker.rollout.record import load_all
    rec = load_all(repo.root / "state")[-1]
    by_vm = {s.vm: s for s in rec.servers}
    assert rec.outcome == "halted"
    assert by_vm["tracker-staging"].outcome == "done"
    assert by_vm["tracker"].outcome == "rolled back" and by_vm["tracker"].rollback["outcome"] == "passed"
    assert by_vm["bastion"].outcome == "untouched"
    for vm in VMS:
        assert "stoker_rollout_lock" not in fake.server_by_name(vm)["metadata"]
    junit = (repo.root / "build" / "junit" / "rollout-tracker.xml").read_text()
    assert "rollout.tracker.deploy" in junit and "rollout.tracker.rollback" in junit and "<failure" in junit


def test_without_auto_rollback_the_halt_offers_stoker_rollback_which_restores(fake, repo, fleet, rollout, stoker):
    fleet["checks"].fail = {"tracker-staging"}
    code, out, _ = rollout("rollout", "--all", "--yes")
    assert code == 1
    assert _rebuilt_in_order(fake) == ["tracker-staging"]
    assert "`stoker rollback tracker-staging`" in out
    assert fake.server_by_name("tracker-staging")["metadata"]["stoker_config_sha256"] == _sha(repo, "tracker-staging")
    code, out, err = stoker("rollback", "tracker-staging", "--yes")
    assert code == 0, err
    assert fake.server_by_name("tracker-staging")["metadata"]["stoker_config_sha256"] == \
        fleet["first"]["tracker-staging"]


def test_an_ignition_failure_halts_before_the_next_server(fake, repo, fleet, rollout):
    fake.ignition_outcome = "failure"
    code, out, _ = rollout("rollout", "--all", "--yes")
    assert code == 1
    assert _rebuilt_in_order(fake) == ["tracker-staging"]
    assert fleet["checks"].calls == []
    assert "halted at tracker-staging" in out


def _foreign_lock(fake, vm, expires="2999-01-01T00:00:00Z"):
    lock = {"id": "20261130T230000Z-abcdef", "owner": "alice@ops-laptop", "started": "2026-11-30T23:00:00Z",
            "expires": expires}
    fake.server_by_name(vm)["metadata"]["stoker_rollout_lock"] = json.dumps(lock, separators=(",", ":"))


def test_a_held_lock_refuses_a_rollout_and_a_deploy_naming_the_holder(fake, repo, fleet, rollout, stoker):
    _foreign_lock(fake, "bastion")
    before = len(fake.mutating_calls())
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 1
    assert "locked by rollout 20261130T230000Z-abcdef by alice@ops-laptop" in err + out
    assert "--break-lock" in err + out
    assert len(fake.mutating_calls()) == before, "refused before any change, no lock set elsewhere"
    code, out, err = stoker("deploy", "bastion", "--yes")
    assert code == 1 and "alice@ops-laptop" in err
    assert len(fake.mutating_calls()) == before
    code, out, err = rollout("rollout", "--all", "--yes", "--break-lock")
    assert code == 0, out + err
    assert "broke the lock of rollout 20261130T230000Z-abcdef" in out
    assert "stoker_rollout_lock" not in fake.server_by_name("bastion")["metadata"]


def test_an_expired_lock_is_taken_over(fake, repo, fleet, rollout):
    _foreign_lock(fake, "tracker", expires="2000-01-01T00:00:00Z")
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 0, out + err
    assert "took over the expired lock" in out


def test_a_second_rollout_sees_the_first_ones_lock(fake, repo, fleet, rollout, monkeypatch):
    """While a rollout runs (here: during its post-deploy checks), a second one is refused."""
    seen = {}

    def checks(vm, target, facts):
        if vm == "tracker-staging":
            seen["second"] = rollout("rollout", "--all", "--yes")
        results = Results()
        results.add("system", "system running", True, "running", "running")
        return results
    import stoker.rollout.live as live
    monkeypatch.setattr(live, "live_checker", lambda root, identity=None: checks)
    code, out, err = rollout("rollout", "--all", "--yes")
    second_code, second_out, second_err = seen["second"]
    assert second_code == 1 and "locked by rollout" in second_out + second_err
    assert code == 0 and _rebuilt_in_order(fake) == ["tracker-staging", "tracker", "bastion"]


def test_naming_and_all_are_usage_errors_together(fake, repo, fleet, rollout):
    assert rollout("rollout", "tracker", "--all")[0] == 2
    assert rollout("rollout")[0] == 2


def test_rollout_of_named_vms_only(fake, repo, fleet, rollout):
    code, out, err = rollout("rollout", "tracker", "tracker-staging", "--yes")
    assert code == 0, out + err
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker"]
    assert fleet["gates"][-1][0] == "boot-test", "no fleet test: neither the bastion nor an address changes"


def test_fleet_yaml_order_overrides(fake, repo, fleet, rollout):
    (repo.root / "fleet.yaml").write_text(FLEET.replace("rollout:\n", "rollout:\n  order: [tracker, bastion]\n"))
    code, out, err = rollout("rollout", "--all", "--yes")
    assert code == 0, out + err
    assert _rebuilt_in_order(fake) == ["tracker", "bastion", "tracker-staging"]


def test_in_a_terminal_the_halt_offers_the_rollback(fake, repo, fleet, monkeypatch):
    """Without --auto-rollback, the operator is asked; "y" rolls back and checks again."""
    from stoker.rollout.run import Options, Rollout

    fleet["checks"].fail = {"tracker-staging"}
    asked = []

    def offer(vm, sha):
        asked.append((vm, sha))
        return True
    record = Rollout(repo.root, Options(vms=None), fleet["checks"], offer_rollback=offer).run()
    assert asked == [("tracker-staging", fleet["first"]["tracker-staging"])]
    assert record.outcome == "halted" and record.server("tracker-staging").outcome == "rolled back"
    assert fake.server_by_name("tracker-staging")["metadata"]["stoker_config_sha256"] == \
        fleet["first"]["tracker-staging"]
    assert _rebuilt_in_order(fake) == ["tracker-staging", "tracker-staging"]


def test_the_local_cloud_keeps_server_metadata_as_nova_does(fake, repo, stoker):
    """The lock relies on it: set merges, a rebuild replaces, delete removes one item (404 when absent)."""
    import openstack
    from openstack import exceptions

    assert stoker("deploy", "tracker", "--yes")[0] == 0
    conn = openstack.connect(cloud="fake")
    server = conn.compute.find_server("tracker")
    conn.compute.set_server_metadata(server, stoker_rollout_lock="x", owner_note="kept")
    meta = conn.compute.get_server(server.id).metadata
    assert meta["stoker_rollout_lock"] == "x" and meta["owner_note"] == "kept" and meta["stoker_vm"] == "tracker"
    conn.compute.delete_server_metadata(server, ["stoker_rollout_lock"])
    assert "stoker_rollout_lock" not in conn.compute.get_server(server.id).metadata
    with pytest.raises(exceptions.NotFoundException):
        conn.compute.delete_server_metadata(server, ["stoker_rollout_lock"])

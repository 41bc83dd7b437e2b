"""A server stoker did not create is never rebuilt by accident; `stoker adopt`
takes one over on purpose. Deployed configs are kept private, with history,
and `stoker rollback` goes back to the last one that booted."""

from __future__ import annotations

import stat

from cloud_testdata import VOLUME_ID, tracker_config


def test_a_hand_made_server_with_the_vm_name_is_refused_before_any_change(fake, repo, stoker):
    fake.add_hand_made_server("tracker", "10.0.0.13", volumes=[VOLUME_ID])
    for command in (("plan", "tracker"), ("deploy", "tracker", "--yes")):
        before = len(fake.mutating_calls())
        code, _, err = stoker(*command)
        assert code == 1
        assert "was not created by stoker: it has no stoker_vm metadata" in err
        assert "stoker adopt tracker" in err and "created 2024-05-01" in err
        assert len(fake.mutating_calls()) == before


def test_a_server_of_another_vm_is_refused(fake, repo, stoker):
    fake.add_hand_made_server("tracker", "10.0.0.13", metadata={"stoker_vm": "bastion"})
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "belongs to VM 'bastion', not 'tracker'" in err
    code, _, err = stoker("adopt", "tracker", "--yes")
    assert code == 1 and "belongs to VM 'bastion'" in err


def test_adopt_shows_what_a_rebuild_destroys_then_the_deploy_proceeds(fake, repo, stoker):
    legacy = fake.add_volume("legacy-scratch", 10)
    sid = fake.add_hand_made_server("tracker", "10.0.0.13", volumes=[VOLUME_ID, legacy],
                                    metadata={"owner": "ops"})
    code, out, err = stoker("adopt", "tracker", "--yes")
    assert code == 0, err
    assert "destroys" in out and "its root disk" in out
    assert "volume tracker-data" in out and "the placement's data volume" in out
    assert "volume legacy-scratch" in out and "not in the placement" in out
    meta = fake.servers[sid]["metadata"]
    assert meta["stoker_vm"] == "tracker" and meta["owner"] == "ops" and "stoker_adopted_at" in meta
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert fake.servers[sid]["metadata"]["stoker_ignition"] == "success"
    assert fake.server_by_name("tracker")["id"] == sid  # rebuilt, not replaced


def test_adopt_without_a_terminal_needs_yes(fake, repo, stoker):
    fake.add_hand_made_server("tracker", "10.0.0.13")
    code, _, err = stoker("adopt", "tracker")
    assert code == 2 and "--yes" in err
    assert "stoker_vm" not in fake.server_by_name("tracker")["metadata"]


def test_adopt_of_a_server_that_is_already_the_vms_or_missing(fake, repo, stoker):
    code, _, err = stoker("adopt", "tracker", "--yes")
    assert code == 1 and "no server named tracker" in err
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, _, err = stoker("adopt", "tracker", "--yes")
    assert code == 1 and "already VM tracker's" in err


def test_deployed_configs_are_private_and_kept_with_their_outcome(fake, repo, stoker):
    import json

    assert stoker("deploy", "tracker", "--yes")[0] == 0
    state = repo.root / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "tracker.ign").stat().st_mode) == 0o600
    history = state / "history" / "tracker"
    assert stat.S_IMODE(history.stat().st_mode) == 0o700
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700, "no directory under state/ is readable by others"
    log = json.loads((history / "deploys.json").read_text())
    assert [(d["action"], d["outcome"]) for d in log] == [("create", "success")]
    assert stat.S_IMODE((history / f"{log[0]['sha256']}.ign").stat().st_mode) == 0o600
    assert log[0]["stoker_version"] and log[0]["time"] and log[0]["server"]


def test_rollback_redeploys_the_last_config_that_booted(fake, repo, stoker):
    import json

    assert stoker("deploy", "tracker", "--yes")[0] == 0
    first = json.loads((repo.root / "state/history/tracker/deploys.json").read_text())[0]["sha256"]
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.ignition_outcome = "failure"
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "Ignition reported failure" in err
    fake.ignition_outcome = "success"
    code, out, err = stoker("rollback", "tracker", "--yes")
    assert code == 0, err
    assert f"rolling tracker back to config {first[:12]}" in out
    server = fake.server_by_name("tracker")
    assert server["metadata"]["stoker_config_sha256"] == first
    log = json.loads((repo.root / "state/history/tracker/deploys.json").read_text())
    assert [d["outcome"] for d in log] == ["success", "failed", "success"]


def test_rollback_to_a_given_config_and_when_there_is_none(fake, repo, stoker):
    code, _, err = stoker("rollback", "tracker", "--yes")
    assert code == 1 and "does not exist" in err and "nothing to roll back" in err
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, _, err = stoker("rollback", "tracker", "--yes")
    assert code == 1 and "no earlier config of tracker whose Ignition succeeded" in err, "one deploy: nothing earlier"
    code, _, err = stoker("rollback", "tracker", "--to", "deadbeef00", "--yes")
    assert code == 1 and "no kept config of tracker matches" in err


def test_status_names_servers_stoker_does_not_own_and_vms_without_placement(fake, repo, stoker):
    import json

    repo.write_vms({vm: "services: {}\n" for vm in ("tracker", "bastion", "ims")})
    fake.add_hand_made_server("tracker", "10.0.0.13")
    code, out, err = stoker("status")
    assert code == 0, err
    assert "not stoker's" in out and "no placement" in out and "stoker adopt VM" in out
    code, out, _ = stoker("status", "--json")
    rows = {r["vm"]: r for r in json.loads(out)}
    assert rows["tracker"]["drift"] == "not stoker's"
    assert rows["ims"]["drift"] == "no placement" and rows["bastion"]["drift"] == "not deployed"


def test_rollback_only_considers_configs_this_server_ran(fake, repo, stoker):
    """The same VM deployed to another server (another cloud, or a server since
    replaced) shares state/: its configs are not this server's history."""
    import json

    assert stoker("deploy", "tracker", "--yes")[0] == 0
    history = repo.root / "state" / "history" / "tracker" / "deploys.json"
    log = json.loads(history.read_text())
    log.insert(0, {**log[0], "sha256": "0" * 64, "server": "a-server-in-another-cloud"})
    history.write_text(json.dumps(log))
    code, _, err = stoker("rollback", "tracker", "--yes")
    assert code == 1 and "no earlier config of tracker whose Ignition succeeded on server" in err


def test_an_adopted_server_is_not_compared_with_another_servers_state(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0  # state/tracker.ign: this server's config
    server = fake.server_by_name("tracker")
    del fake.servers[server["id"]]
    fake.detach(server) if server.get("volumes") else None
    fake.add_hand_made_server("tracker", "10.0.0.13")
    assert stoker("adopt", "tracker", "--yes")[0] == 0
    code, out, _ = stoker("plan", "tracker")
    assert code == 0 and "(not recorded)" in out and "every item shows as added" in out

"""Deploys against the local OpenStack, through the real openstacksdk."""

from __future__ import annotations

import base64
import json

from cloud_testdata import tracker_config


def _volume_alive(fake, server=None):
    vol = fake.volume_by_name("tracker-data")
    assert vol is not None, "the data volume must exist"
    assert not any("deleted" in v for v in fake.violations)
    if server is not None:
        assert vol["id"] in server["volumes"] and vol["status"] == "in-use"
    return vol


def test_first_deploy_creates_server_with_user_data_volume_and_metadata(fake, repo, stoker):
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert fake.violations == []
    server = fake.server_by_name("tracker")
    assert server["status"] == "ACTIVE" and server["address"] == "10.0.0.13"
    raw = (repo.root / "build" / "tracker.ign").read_bytes()
    assert base64.b64decode(server["user_data"]) == raw
    import hashlib
    assert server["metadata"]["stoker_config_sha256"] == hashlib.sha256(raw).hexdigest()
    assert server["metadata"]["stoker_ignition"] == "success"
    assert server["metadata"]["stoker_vm"] == "tracker"
    assert "stoker_version" in server["metadata"] and "stoker_deployed_at" in server["metadata"]
    _volume_alive(fake, server)
    create = fake.calls("POST", r"/servers$")[0].body["server"]
    assert create["networks"] == [{"uuid": next(iter(fake.networks)), "fixed_ip": "10.0.0.13"}]
    assert create["block_device_mapping_v2"][0]["delete_on_termination"] is False
    assert (repo.root / "state" / "tracker.ign").read_bytes() == raw
    assert "Ignition: success" in out
    # token auth happened once, and every other call carried the token
    assert len(fake.calls("POST", r"/auth/tokens$")) == 1


def test_second_deploy_with_nothing_changed_does_nothing(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    before = len(fake.mutating_calls())
    code, out, _ = stoker("deploy", "tracker", "--yes")
    assert code == 0
    assert "Nothing to do" in out
    assert len(fake.mutating_calls()) == before
    _volume_alive(fake, fake.server_by_name("tracker"))


def test_rebuild_with_changes_keeps_server_id_address_and_volume(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    first = dict(fake.server_by_name("tracker"))
    repo.write_build(tracker_config(image_tag="7.0", extra_unit="tracker-reindex.service"))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert fake.violations == []
    server = fake.server_by_name("tracker")
    assert server["id"] == first["id"] and server["address"] == first["address"]
    assert len(fake.servers) == 1
    rebuild = [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]
    assert len(rebuild) == 1
    major, minor = map(int, rebuild[0].microversion.split("."))
    assert (major, minor) >= (2, 57), "user_data in rebuild needs compute 2.57+"
    body = rebuild[0].body["rebuild"]
    assert json.loads(base64.b64decode(body["user_data"]))["systemd"]["units"][-1]["name"] == "tracker-reindex.service"
    assert body["metadata"]["stoker_ignition"] == "pending"
    assert server["metadata"]["stoker_ignition"] == "success"
    _volume_alive(fake, server)
    assert "rebuild server tracker" in out
    assert "mongo:6.0 → docker.io/library/mongo:7.0" in out


def test_rebuild_refused_when_the_cloud_is_older_than_2_57(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    fake.max_microversion = "2.56"
    repo.write_build(tracker_config(image_tag="7.0"))
    before = len(fake.mutating_calls())
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "2.57" in err and "vm tracker" in err
    assert len(fake.mutating_calls()) == before


def test_ignition_failure_is_reported_and_recorded(fake, repo, stoker):
    fake.ignition_outcome = "failure"
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1
    assert "Ignition reported failure" in err and "step watch ignition" in err and "how to recover" in err
    server = fake.server_by_name("tracker")
    assert server["metadata"]["stoker_ignition"] == "failed"
    _volume_alive(fake, server)


def test_rebuild_needs_confirmation_without_yes(fake, repo, stoker, monkeypatch):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    code, _, err = stoker("deploy", "tracker")
    assert code == 2 and "--yes" in err
    assert not [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]


def test_a_detached_volume_is_attached_again_without_a_rebuild(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    server = fake.server_by_name("tracker")
    fake.detach(server)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "attach volume to tracker" in out and "reboot" in out
    assert not [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]
    _volume_alive(fake, server)


def test_a_detached_volume_is_attached_before_a_rebuild(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    server = fake.server_by_name("tracker")
    fake.detach(server)
    repo.write_build(tracker_config(image_tag="7.0"))
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    paths = [(r.method, r.path.rsplit("/", 1)[-1], next(iter(r.body or {"": 0}))) for r in fake.mutating_calls()]
    assert paths.index(("POST", "os-volume_attachments", "volumeAttachment")) < paths.index(("POST", "action", "rebuild"))
    _volume_alive(fake, server)


def test_a_volume_lost_in_the_rebuild_is_attached_again(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    fake.detach_on_rebuild = True
    repo.write_build(tracker_config(image_tag="7.0"))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "not attached after the deploy; attaching it" in out
    _volume_alive(fake, fake.server_by_name("tracker"))


def test_a_missing_security_group_refuses_a_create_before_any_change(fake, repo, stoker):
    from cloud_testdata import placement_with

    (repo.root / "fleet.yaml").write_text(placement_with(security_groups=["default", "ssh-nowhere"]))
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "security group ssh-nowhere" in err and "openstack security group create" in err
    assert fake.mutating_calls() == []


def test_a_deploy_that_ended_before_the_verdict_reads_it_when_run_again(fake, repo, stoker):
    import json

    assert stoker("deploy", "tracker", "--yes")[0] == 0
    server = fake.server_by_name("tracker")
    server["metadata"]["stoker_ignition"] = "pending"  # as a deploy interrupted while watching the console leaves it
    history = repo.root / "state" / "history" / "tracker" / "deploys.json"
    log = json.loads(history.read_text())
    log[-1]["outcome"] = "interrupted"
    history.write_text(json.dumps(log))
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "read Ignition's verdict" in out and "pending" in out
    rebuilds = len(fake.calls("POST", r"/action$"))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out and server["metadata"]["stoker_ignition"] == "success"
    assert not [r for r in fake.calls("POST", r"/action$")[rebuilds:] if "rebuild" in (r.body or {})], "no rebuild"
    assert json.loads(history.read_text())[-1]["outcome"] == "success"

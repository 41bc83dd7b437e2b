"""`stoker plan` exit codes and output, refusals, retries, timeouts, drift."""

from __future__ import annotations

from cloud_testdata import DEVICE, VOLUME_ID, tracker_config


def test_plan_for_a_new_server_lists_everything_and_exits_2(fake, repo, stoker):
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2
    assert "create server tracker" in out
    assert "+ unit mongodb.service (added)" in out
    assert "+ timer mongodb-backups.timer (added)" in out
    assert "+ image docker.io/library/mongo:6.0 (added)" in out
    assert "+ user core (added)" in out and "operator@example" in out
    assert fake.mutating_calls() == []


def test_plan_without_detailed_exitcode_exits_0_with_changes_so_make_can_tell_them_from_errors(
        fake, repo, stoker):
    # make turns every non-zero exit into 2: a plan that was computed must exit 0.
    code, out, _ = stoker("plan", "tracker")
    assert code == 0 and "create server tracker" in out


def test_plan_after_deploy_exits_0_then_2_with_an_operator_diff(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 0 and "no changes" in out
    repo.write_build(tracker_config(image_tag="7.0", password="hunter2-second", extra_unit="tracker-reindex.service"))
    before = len(fake.mutating_calls())
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2
    assert len(fake.mutating_calls()) == before, "plan never changes the cloud"
    assert "rebuild server tracker" in out
    assert "~ unit mongodb.service (changed)" in out
    assert "-ExecStart=/usr/bin/podman run" in out and "mongo:7.0" in out
    assert "+ unit tracker-reindex.service (added)" in out
    assert "~ image docker.io/library/mongo (changed)" in out
    assert "~ file /etc/stoker/mongodb.env (changed)" in out and "masked" in out
    assert "~ file /etc/tracker/config.yaml (changed)" in out
    assert "hunter2" not in out, "secret values must be masked"
    assert "Plan: 1 to add, 4 to change, 0 to remove." in out


def test_oversized_user_data_is_refused_before_any_call(fake, repo, stoker):
    doc = tracker_config()
    noise = "".join(f"{i:08x}" for i in range(6000))  # incompressible enough, ~48 KB -> >65,535 base64 chars
    doc["storage"]["files"].append({"path": "/etc/tracker/blob", "contents": {"source": "data:," + noise}})
    repo.write_build(doc)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1
    assert "65,535" in err and "vm tracker" in err and "step preflight" in err
    assert fake.requests == [], "refused before calling the cloud"


def test_the_fake_nova_rejects_oversized_bodies_with_413(fake):
    import openstack
    from openstack import exceptions
    conn = openstack.connect(cloud="fake")
    try:
        conn.compute.create_server(name="x", flavor_id="f", image_id="i", networks=[],
                                   user_data="QUFB" * 40000)
    except exceptions.HttpException as exc:
        assert exc.status_code == 413
    else:
        raise AssertionError("expected 413")


def test_a_config_with_a_data_filesystem_but_no_volume_is_refused(fake, repo, stoker):
    repo.write_build(tracker_config(), vm="bastion")
    code, _, err = stoker("deploy", "bastion", "--yes")
    assert code == 1 and "no data volume" in err and "step preflight" in err
    assert fake.requests == []


def test_5xx_is_retried_and_only_one_server_is_made(fake, repo, stoker):
    fake.fail_next("POST", r"/servers$", 503)
    fake.fail_next("GET", r"/servers/[^/]+$", 500)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len(fake.servers) == 1
    assert "retried after create server: HTTP 503" in out
    assert fake.violations == []


def test_4xx_is_not_retried(fake, repo, stoker):
    fake.fail_next("POST", r"/servers$", 409, count=5)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "HTTP 409" in err and "step create server" in err
    assert len(fake.calls("POST", r"/servers$")) == 1
    assert fake.volume_by_name("tracker-data")["status"] == "available"


def test_a_server_that_never_becomes_active_times_out_with_a_recovery_hint(fake, repo, stoker, monkeypatch):
    monkeypatch.setenv("STOKER_ACTIVE_TIMEOUT", "0.3")
    fake.never_active = True
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1
    assert "step wait active" in err and "still BUILD" in err and "timeout" in err
    assert "tracker-data" in err and "was not deleted" in err
    assert fake.volume_by_name("tracker-data")["id"] == VOLUME_ID


def test_missing_volume_is_created_then_deploy_stops_until_the_config_names_it(fake, repo, stoker):
    del fake.volumes[VOLUME_ID]
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step create volume" in err and "fleet.yaml volumes.tracker-data" in err
    vol = fake.volume_by_name("tracker-data")
    assert vol is not None and vol["size"] == 50
    assert fake.servers == {}, "no server is made whose config cannot find its data disk"
    repo.write_build(tracker_config(device=f"/dev/disk/by-id/virtio-{vol['id'][:20]}"))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert vol["id"] in fake.server_by_name("tracker")["volumes"]


def test_volume_attached_to_another_server_is_refused(fake, repo, stoker):
    fake.volumes[VOLUME_ID].update(status="in-use", attachments=[{"server_id": "other-server"}])
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "attached to another server" in err
    assert fake.mutating_calls() == []


def test_a_config_that_would_wipe_the_existing_volume_is_refused(fake, repo, stoker):
    doc = tracker_config()
    doc["storage"]["filesystems"][0]["wipeFilesystem"] = True
    repo.write_build(doc)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "wipe" in err
    assert fake.mutating_calls() == []


def test_dry_run_prints_calls_with_user_data_redacted_and_changes_nothing(fake, repo, stoker):
    code, out, _ = stoker("deploy", "tracker", "--dry-run")
    assert code == 0
    assert fake.mutating_calls() == []
    assert "POST   compute       /servers" in out
    assert "<redacted:" in out and "hunter2" not in out
    raw = (repo.root / "build" / "tracker.ign").read_bytes()
    import base64
    assert base64.b64encode(raw).decode()[:40] not in out
    assert '"delete_on_termination": false' in out


def test_status_shows_drift_against_the_current_build(fake, repo, stoker):
    code, out, _ = stoker("status")
    assert code == 0 and "not deployed" in out
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, out, _ = stoker("status", "tracker")
    assert "in sync" in out and "ACTIVE" in out and "10.0.0.13" in out and "success" in out
    assert "tracker-data: attached" in out
    repo.write_build(tracker_config(image_tag="7.0"))
    code, out, _ = stoker("status", "tracker")
    assert "drift" in out


def test_device_is_where_the_volume_appears(fake, repo, stoker):
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert DEVICE in out

"""Nothing lost in a rebuild: state containers write on the root disk is listed
as "lost on rebuild", and a rebuild with such state needs --accept-loss.
`stoker plan --json` gives the whole plan to scripts."""

from __future__ import annotations

import json

import pytest
from cloud_testdata import data_url, tracker_config

from stoker.cloud.losses import lost_on_rebuild


def _with(doc: dict, path: str, text: str) -> dict:
    doc["storage"]["files"].append({"path": path, "mode": 0o644, "contents": {"source": data_url(text)}})
    return doc


def _uploads_on_root_disk(**kw) -> dict:
    doc = tracker_config(**kw)
    doc["storage"].setdefault("directories", []).append({"path": "/var/lib/tracker/uploads", "user": {"id": 1001}})
    return _with(doc, "/etc/containers/systemd/uploads.container",
                 "[Container]\nImage=registry.example.org/fleet/uploads:1\n"
                 "Volume=/var/lib/tracker/uploads:/srv/uploads:Z\n"
                 "Volume=/var/mnt/data/mongo:/data:z\n[Install]\nWantedBy=multi-user.target\n")


def _losses(doc: dict) -> set[str]:
    return {loss.what for loss in lost_on_rebuild(doc)}


def test_a_directory_the_config_creates_and_a_container_writes_is_lost():
    losses = lost_on_rebuild(_uploads_on_root_disk())
    assert [(x.what, x.container, x.target, x.created) for x in losses] == [
        ("/var/lib/tracker/uploads", "uploads", "/srv/uploads", True)]
    assert "Quadlet file /etc/containers/systemd/uploads.container" in losses[0].line()


@pytest.mark.parametrize("mount,lost", [
    ("Volume=/var/lib/app:/data", {"/var/lib/app"}),
    ("Volume=/var/lib/app:/data:ro", set()),
    ("Volume=/var/lib/app:/data:z,ro", set()),
    ("Volume=/var/lib/app:/data:O", set()),                      # overlay: writes are thrown away
    ("Volume=/var/mnt/data/app:/data:Z", set()),                 # on the data volume
    ("Volume=/var/mnt/data:/data", set()),
    ("Volume=/run/podman/podman.sock:/var/run/docker.sock", set()),
    ("Volume=/tmp/scratch:/scratch", set()),
    ("Volume=/etc/tracker/config.yaml:/config.yaml", set()),     # a file the config writes
    ("Volume=/data", set()),                                     # anonymous volume
    ("Volume=appdata:/data", {"podman volume appdata"}),
    ("Volume=app.volume:/data", {"podman volume systemd-app"}),
    ("Mount=type=bind,source=/srv/app,destination=/data", {"/srv/app"}),
    ("Mount=type=bind,src=/srv/app,dst=/data,readonly=true", set()),
    ("Mount=type=bind,src=/srv/app,dst=/data,ro", set()),
    ("Mount=type=tmpfs,destination=/data", set()),
    ("Mount=type=volume,source=cache,destination=/cache", {"podman volume cache"}),
    ("Volume=%h/data:/data", set()),                             # a specifier: not resolvable here
])
def test_quadlet_mounts(mount, lost):
    doc = _with(tracker_config(), "/etc/containers/systemd/app.container",
                f"[Container]\nImage=registry.example.org/app:1\n{mount}\n")
    assert _losses(doc) == lost


def test_podman_run_mounts_in_units_and_links_to_the_data_volume():
    doc = tracker_config()
    doc["storage"]["links"] = [{"path": "/var/lib/keep", "target": "/var/mnt/data/keep"}]
    doc["systemd"]["units"].append({"name": "app.service", "contents": (
        "[Service]\nExecStart=/usr/bin/podman run --rm --name app -v /var/lib/app:/a \\\n"
        "  --volume=/var/lib/keep/x:/b -v/var/log/app:/logs:rw "
        "--mount type=bind,source=/var/lib/ro,target=/c,ro=true registry.example.org/app:1\n")})
    assert _losses(doc) == {"/var/lib/app", "/var/log/app"}


def test_quadlet_volume_units_on_a_device_or_tmpfs_are_not_the_root_disk():
    doc = _with(tracker_config(), "/etc/containers/systemd/app.container",
                "[Container]\nImage=registry.example.org/app:1\nVolume=cache.volume:/cache\n"
                "Volume=kept.volume:/kept\nVolume=bound.volume:/bound\n")
    _with(doc, "/etc/containers/systemd/cache.volume", "[Volume]\nType=tmpfs\nDevice=tmpfs\n")
    _with(doc, "/etc/containers/systemd/kept.volume", "[Volume]\nDevice=/var/mnt/data/kept\nOptions=bind\n")
    _with(doc, "/etc/containers/systemd/bound.volume", "[Volume]\nVolumeName=bound\nDevice=/var/lib/b\nOptions=bind\n")
    assert _losses(doc) == {"podman volume bound"}


def test_a_rebuild_that_loses_state_is_refused_without_accept_loss(fake, repo, stoker):
    repo.write_build(_uploads_on_root_disk())
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(_uploads_on_root_disk(image_tag="7.0"))
    code, out, _ = stoker("plan", "tracker")
    assert code == 0
    assert "lost on rebuild: /var/lib/tracker/uploads (container uploads writes it at /srv/uploads" in out
    assert "a deploy needs --accept-loss" in out
    before = len(fake.mutating_calls())
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "/var/lib/tracker/uploads" in err and "--accept-loss" in err and "step plan" in err
    assert len(fake.mutating_calls()) == before, "refused before any change"
    code, out, err = stoker("deploy", "tracker", "--yes", "--dry-run")
    assert code == 0 and "A deploy would be refused" in out
    assert len(fake.mutating_calls()) == before
    code, out, err = stoker("deploy", "tracker", "--yes", "--accept-loss")
    assert code == 0, err
    assert "accepted with --accept-loss" in out


def test_a_new_server_is_told_what_the_next_rebuild_would_lose(fake, repo, stoker):
    repo.write_build(_uploads_on_root_disk())
    code, out, _ = stoker("deploy", "tracker", "--yes")
    assert code == 0, "nothing exists yet to lose"
    assert "not kept across rebuilds: /var/lib/tracker/uploads" in out


def test_rollback_asks_for_accept_loss_too(fake, repo, stoker):
    repo.write_build(tracker_config())
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(_uploads_on_root_disk())
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, _, err = stoker("rollback", "tracker", "--yes")
    assert code == 1 and "--accept-loss" in err
    code, _, err = stoker("rollback", "tracker", "--yes", "--accept-loss")
    assert code == 0, err


def test_plan_json_is_one_object_with_every_part_and_no_secret(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(_uploads_on_root_disk(image_tag="7.0", password="sw0rdfish-9"))
    code, out, err = stoker("plan", "tracker", "--json", "--detailed-exitcode")
    assert code == 2, err
    plan = json.loads(out)
    assert plan["vm"] == "tracker" and plan["action"] == "rebuild" and plan["changes"] is True
    assert plan["volume"]["state"] == "attached"
    kinds = {(c["kind"], c["name"], c["action"]) for c in plan["config_changes"]}
    assert ("file", "/etc/containers/systemd/uploads.container", "added") in kinds
    assert ("unit", "mongodb.service", "changed") in kinds
    assert plan["summary"]["add"] >= 1 and plan["summary"]["change"] >= 1
    assert plan["lost_on_rebuild"] == [], "the deployed config kept nothing on the root disk"
    assert any(call.startswith("POST") and "rebuild" in call for call in plan["api_calls"])
    assert "hunter2" not in out and "sw0rdfish" not in out
    # and once that is deployed, the next rebuild's losses are in the JSON too
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(_uploads_on_root_disk(image_tag="8.0"))
    plan = json.loads(stoker("plan", "tracker", "--json")[1])
    assert plan["needs_accept_loss"] is True and plan["losses_of"] == "the deployed config"
    assert plan["lost_on_rebuild"][0]["what"] == "/var/lib/tracker/uploads"


def test_plan_json_with_nothing_to_do(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    code, out, _ = stoker("plan", "tracker", "--json", "--detailed-exitcode")
    assert code == 0 and json.loads(out)["action"] == "none" and json.loads(out)["api_calls"] == []


def test_a_rebuild_that_adds_root_disk_state_says_the_next_rebuild_loses_it(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(_uploads_on_root_disk())
    code, out, _ = stoker("plan", "tracker")
    assert code == 0 and "not kept across rebuilds: /var/lib/tracker/uploads" in out
    assert "a deploy needs --accept-loss" not in out, "nothing is on the root disk yet"

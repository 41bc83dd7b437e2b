"""A new VM with a new data volume deploys in one command (fleet.yaml
`volumes: {NAME: null}`): the config names the disk by a placeholder serial
until the volume exists, and the deploy binds it to the volume's real serial."""

from __future__ import annotations

import gzip
import json

from cloud_testdata import VOLUME_ID, tracker_config

from stoker.fleet import budget
from stoker.volumes import bind_serial, placeholder_serial

PLACEHOLDER = f"/dev/disk/by-id/virtio-{placeholder_serial('tracker-data')}"


def _placeholder_config() -> dict:
    doc = tracker_config(device=PLACEHOLDER)
    # As Butane writes it for a mount unit's dependency: systemd-escaped.
    escaped = PLACEHOLDER[1:].replace("-", "\\x2d").replace("/", "-")
    doc["systemd"]["units"].append({
        "name": "data-check.service", "enabled": True,
        "contents": f"[Unit]\nRequires={escaped}.device\nAfter={escaped}.device\n\n[Service]\nType=oneshot\n"
                    "ExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"})
    return doc


def _sent(server: dict) -> str:
    raw = server["user_data_bytes"]
    inner = budget.unwrap(raw)
    return (inner or raw).decode()


def test_a_new_vm_with_a_new_volume_deploys_in_one_command(fake, repo, stoker):
    del fake.volumes[VOLUME_ID]
    repo.write_build(_placeholder_config())
    code, out, err = stoker("plan", "tracker")
    assert code == 0 and "volume tracker-data will be created, and the config bound to its disk" in out + err

    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    vol = fake.volume_by_name("tracker-data")
    server = fake.server_by_name("tracker")
    assert vol["id"] in server["volumes"]
    sent = _sent(server)
    serial = vol["id"][:20]
    assert f"/dev/disk/by-id/virtio-{serial}" in sent
    assert f"virtio\\\\x2d{serial.replace('-', chr(92) * 2 + 'x2d')}" in sent, "escaped unit names are bound too"
    assert placeholder_serial("tracker-data") not in sent

    # The deployed (bound) config is what later plans compare with: nothing to do.
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 0 and "no changes" in out, out


def test_an_existing_volume_is_bound_without_creating_anything(fake, repo, stoker):
    repo.write_build(_placeholder_config())
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert not fake.calls("POST", r"/volumes$"), "the existing volume is used"
    assert f"/dev/disk/by-id/virtio-{VOLUME_ID[:20]}" in _sent(fake.server_by_name("tracker"))


def test_dry_run_creates_nothing_and_says_the_volume_will_be_bound(fake, repo, stoker):
    del fake.volumes[VOLUME_ID]
    repo.write_build(_placeholder_config())
    code, out, err = stoker("deploy", "tracker", "--dry-run")
    assert code == 0, err
    assert fake.mutating_calls() == []
    assert "bound to its disk" in out + err


def test_binding_reaches_a_wrapped_config_and_keeps_it_wrapped():
    raw = json.dumps(_placeholder_config()).encode()
    wrapped = budget.wrap(raw, "3.3.0")
    bound = bind_serial(wrapped, "tracker-data", VOLUME_ID)
    assert budget.unwrap(bound) is not None
    inner = budget.unwrap(bound).decode()
    assert f"virtio-{VOLUME_ID[:20]}" in inner and placeholder_serial("tracker-data") not in inner


def test_a_placeholder_inside_file_contents_is_refused_with_a_located_hint(fake, repo, stoker):
    doc = _placeholder_config()
    doc["storage"]["files"].append({"path": "/etc/tracker/disk", "contents": {
        "source": "data:;base64," + __import__("base64").b64encode(gzip.compress(PLACEHOLDER.encode())).decode(),
        "compression": "gzip"}})
    repo.write_build(doc)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "placeholder serial of volume tracker-data" in err and "step bind volume" in err
    assert fake.mutating_calls() == []


def test_status_and_history_know_the_bound_config(fake, repo, stoker):
    import json as _json

    del fake.volumes[VOLUME_ID]
    repo.write_build(_placeholder_config())
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    deployed = fake.server_by_name("tracker")["metadata"]["stoker_config_sha256"]
    rows = _json.loads(stoker("status", "--json")[1])
    tracker = next(r for r in rows if r["vm"] == "tracker")
    assert tracker["drift"] == "in sync" and tracker["build_sha"] == deployed
    history = repo.root / "state" / "history" / "tracker"
    log = _json.loads((history / "deploys.json").read_text())
    assert [d["sha256"] for d in log] == [deployed], "kept by the sha256 the server records"
    assert (history / f"{deployed}.ign").exists()
    code, out, err = stoker("rollback", "tracker", "--to", deployed[:12], "--yes")
    assert code == 0 and "Nothing to do" in out, err


def test_a_deploy_stopped_before_the_server_is_touched_keeps_no_history(fake, repo, stoker):
    del fake.volumes[VOLUME_ID]  # the config pins the old volume's serial: stops after creating the new one
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step create volume" in err
    assert not (repo.root / "state" / "history" / "tracker" / "deploys.json").exists()


def _fleet(repo, volume: str) -> None:
    import yaml
    from cloud_testdata import placement_with

    doc = yaml.safe_load(placement_with(volume={"name": volume, "size": 50}))
    doc["volumes"] = {"tracker-data": None, "tracker-data2": None}
    (repo.root / "fleet.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_config_for_another_volume_than_the_placements_is_refused(fake, repo, stoker):
    _fleet(repo, "tracker-data2")
    repo.write_build(_placeholder_config())  # its disk is tracker-data's
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "data disk is volume tracker-data" in err and "attaches volume tracker-data2" in err
    assert "by_volume" in err and fake.mutating_calls() == []


def test_switching_the_data_volume_says_the_old_one_stays_unmounted(fake, repo, stoker):
    _fleet(repo, "tracker-data")
    repo.write_build(_placeholder_config())
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    _fleet(repo, "tracker-data2")
    doc = _placeholder_config()
    hex_of = lambda name: placeholder_serial(name)[len("stoker-"):]  # noqa: E731 (every escaped form keeps it)
    repo.write_build(json.loads(json.dumps(doc).replace(hex_of("tracker-data"), hex_of("tracker-data2"))))
    code, out, err = stoker("plan", "tracker")
    assert code == 0, err
    assert f"volume {VOLUME_ID} is attached to the server" in out and "does not mount it" in out

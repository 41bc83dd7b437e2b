"""Pure parts: the operator diff and its masking, placement loading, config checks."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from cloud_testdata import PLACEMENT

from cloud_testdata import KEY, data_url, tracker_config
from stoker.cloud.config import NOVA_USER_DATA_LIMIT, effective_config, parse_config
from stoker.cloud.diff import diff_configs, mask_text, render
from stoker.cloud.errors import PlacementError
from stoker.cloud.placement import load_placement


def test_mask_text_hides_secret_assignments_and_url_credentials():
    text = ("Environment=MONGO_INITDB_ROOT_PASSWORD=s3cret\nEnvironment=\"API_TOKEN=abc def\"\n"
            "url: mongodb://tracker:pa55@db/x\nEnvironment=MONGODB_HOST=mongodb\n")
    masked = mask_text(text)
    for secret in ("s3cret", "abc", "pa55"):
        assert secret not in masked
    assert "MONGODB_HOST=mongodb" in masked


def test_identical_configs_have_no_changes():
    assert not diff_configs(tracker_config(), tracker_config()).changed


def test_secret_files_are_reported_by_size_only():
    diff = diff_configs(tracker_config(password="first-one"), tracker_config(password="second-one"))
    text = "\n".join(render(diff))
    assert "first-one" not in text and "second-one" not in text
    assert "~ file /etc/stoker/mongodb.env (changed)" in text
    assert "secret contents changed (25 → 26 bytes, masked)" in text
    assert "~ unit mongodb.service (changed)\n    only secret values changed" in text


def test_removed_unit_user_key_and_image():
    old, new = tracker_config(), tracker_config()
    new["systemd"]["units"] = [u for u in new["systemd"]["units"] if u["name"] != "mongodb-backups.timer"]
    new["passwd"]["users"][0]["sshAuthorizedKeys"] = []
    new["passwd"]["users"].append({"name": "backup"})
    lines = render(diff_configs(old, new))
    assert "- timer mongodb-backups.timer (removed)" in lines
    assert "~ user core (changed)" in lines
    assert any(line.strip().startswith("- key ssh-ed25519 operator@example SHA256:") for line in lines)
    assert "+ user backup (added)" in lines


def test_quadlet_image_lines_are_images():
    old, new = tracker_config(), tracker_config()
    new["storage"]["files"].append({"path": "/etc/containers/systemd/web.container",
                                    "contents": {"source": data_url("[Container]\nImage=registry.example.org/web:3\n")}})
    assert "+ image registry.example.org/web:3 (added)" in render(diff_configs(old, new))


def test_a_compressed_replace_wrapper_is_compared_by_what_it_contains():
    inner = json.dumps(tracker_config(image_tag="7.0")).encode()
    wrapper = {"ignition": {"version": "3.4.0", "config": {"replace": {
        "source": "data:;base64," + base64.b64encode(gzip.compress(inner)).decode(), "compression": "gzip"}}}}
    assert effective_config(wrapper)["systemd"]["units"][1]["name"] == "mongodb.service"
    lines = render(diff_configs(tracker_config(), wrapper))
    assert "~ image docker.io/library/mongo (changed)" in lines


def test_user_data_is_base64_of_the_exact_bytes():
    raw = json.dumps(tracker_config()).encode()
    config = parse_config(raw)
    assert base64.b64decode(config.user_data) == raw
    assert len(config.user_data) < NOVA_USER_DATA_LIMIT


def test_a_non_ignition_file_is_rejected():
    from stoker.errors import StokerError
    with pytest.raises(StokerError, match="not an Ignition 3.x config"):
        parse_config(b'{"variant": "fcos"}')


def test_placement_merges_defaults_and_takes_the_address_from_fleet_yaml(repo):
    (repo.root / "fleet.yaml").write_text("hosts:\n  tracker: {address: 10.0.0.13}\n" + PLACEMENT)
    p = load_placement("tracker", repo.root)
    assert (p.cloud, p.flavor, p.image, p.address) == ("fake", "m1.medium", "fedora-coreos-stable", "10.0.0.13")
    assert p.volume.name == "tracker-data" and p.volume.size == 50
    assert p.security_groups == ("default", "internal-web")


def test_placement_and_fleet_yaml_must_agree_on_the_address(repo):
    (repo.root / "fleet.yaml").write_text("hosts:\n  tracker: {address: 10.9.9.9}\n" + PLACEMENT)
    with pytest.raises(PlacementError, match="differs from fleet.yaml"):
        load_placement("tracker", repo.root)


def test_placement_typos_suggest_the_near_miss(repo):
    text = (repo.root / "fleet.yaml").read_text().replace("    flavor: m1.medium", "    flavour: m1.medium")
    (repo.root / "fleet.yaml").write_text(text)
    with pytest.raises(PlacementError, match="unknown key 'flavour' \\(did you mean 'flavor'\\?\\)"):
        load_placement("tracker", repo.root)
    with pytest.raises(PlacementError, match="did you mean 'tracker'"):
        load_placement("trackr", repo.root)


def test_the_repository_placement_covers_the_fleet():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    for vm in ("ims", "ims-staging", "bastion", "tracker"):
        p = load_placement(vm, root)
        assert p.address.startswith("10.")
    assert load_placement("bastion", root).volume.name == "bastion-data"  # its certificates are kept


def test_key_label_never_shows_the_whole_key():
    from stoker.cloud.diff import key_label
    label = key_label(KEY)
    assert label.startswith("ssh-ed25519 operator@example SHA256:") and KEY.split()[1] not in label

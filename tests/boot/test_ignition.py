import pytest

from boot_sample import QUADLET, data_url, sample_config
from stoker.boot.errors import ConfigError
from stoker.boot.ignition import (MIRROR_DROPIN, add_registry_mirror, check_spec, container_ports,
                                  data_disk_serials, decode_source, encode_source, image_references,
                                  inject_ssh_key, parse_unit, selinux_requested, unit_value)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST stoker-boot-test"

@pytest.mark.parametrize("version", ["3.0.0", "3.2.0", "3.3.0"])
def test_spec_the_offline_image_reads(version):
    assert check_spec({"ignition": {"version": version}}, "3.3.0", "offline") == version

@pytest.mark.parametrize("version", ["3.4.0", "3.5.0", "3.6.0", "3.4.0-experimental"])
def test_spec_above_the_image_is_refused_with_a_clear_message(version):
    with pytest.raises(ConfigError, match=rf"spec {version}.*offline image's Ignition reads at most 3.3.0"):
        check_spec({"ignition": {"version": version}}, "3.3.0", "offline")

@pytest.mark.parametrize("version", ["2.3.0", "2.0.0", "1.0.0", "2.4.0-experimental"])
def test_spec_2_and_older_is_refused_naming_the_supported_range(version):
    with pytest.raises(ConfigError, match=rf"^old.ign: the config is Ignition spec {version}, but the offline "
                                          r"image's Ignition reads spec 3.0.0 to 3.3.0 only"):
        check_spec({"ignition": {"version": version}}, "3.3.0", "offline", "old.ign")

def test_a_spec_2_config_inside_a_replace_wrapper_is_refused():
    from stoker.boot.ignition import unwrap
    wrapped = {"ignition": {"version": "3.3.0", "config": {"replace": {
        "source": data_url('{"ignition": {"version": "2.3.0"}}')}}}}
    with pytest.raises(ConfigError, match="spec 2.3.0"):
        check_spec(unwrap(wrapped), "3.3.0", "offline")

def test_missing_version_is_refused():
    with pytest.raises(ConfigError, match="no ignition.version"):
        check_spec({"ignition": {}}, "3.3.0", "offline")

def test_data_urls_round_trip():
    assert decode_source({"source": data_url("a b\n%")}) == "a b\n%"
    assert decode_source(encode_source("é\n")) == "é\n"
    assert decode_source({"source": "https://example.invalid/x"}) is None

def test_gzip_data_url():
    import base64
    import gzip
    blob = base64.b64encode(gzip.compress(b"hello")).decode()
    assert decode_source({"source": f"data:;base64,{blob}", "compression": "gzip"}) == "hello"

def test_inject_key_adds_core_without_touching_the_input():
    cfg = {"ignition": {"version": "3.3.0"}}
    out, added = inject_ssh_key(cfg, KEY)
    assert cfg == {"ignition": {"version": "3.3.0"}}
    assert out["passwd"]["users"] == [{"name": "core", "sshAuthorizedKeys": [KEY]}]  # no groups: nothing else
    assert added.what == "SSH key"

def test_inject_key_merges_into_an_existing_core_entry():
    cfg = {"ignition": {"version": "3.3.0"},
           "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 OPERATOR"]}]}}
    users = inject_ssh_key(cfg, KEY)[0]["passwd"]["users"]
    assert len(users) == 1 and users[0]["sshAuthorizedKeys"] == ["ssh-ed25519 OPERATOR", KEY]

def test_parse_unit_keeps_repeated_keys_and_continuations():
    sections = parse_unit("[Container]\nEnvironment=A=1\nEnvironment=B=2\nExec=/bin/sh \\\n  -c true\n# c\n")
    assert [v for k, v in sections["Container"] if k == "Environment"] == ["A=1", "B=2"]
    assert unit_value(sections, "Container", "Exec") == "/bin/sh -c true"

@pytest.mark.parametrize("value,expected", [
    ("8080:80", (8080, 80, "tcp")), ("127.0.0.1:8080:80/tcp", (8080, 80, "tcp")), ("80", (None, 80, "tcp")),
    ("53:53/udp", (53, 53, "udp")), (":80", (None, 80, "tcp")),
])
def test_publish_port_forms(value, expected):
    assert container_ports(value) == expected

def test_the_registry_mirror_is_the_only_file_added_and_units_stay_byte_identical():
    cfg = sample_config()
    out, added = add_registry_mirror(cfg, "10.0.2.2:5000")
    assert cfg == sample_config()  # input untouched
    assert out["storage"]["files"][:-1] == cfg["storage"]["files"]  # every file as the config has it
    assert out["systemd"] == cfg["systemd"]
    dropin = out["storage"]["files"][-1]
    assert dropin["path"] == MIRROR_DROPIN and dropin["mode"] == 0o644
    text = decode_source(dropin["contents"])
    assert '[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"' in text
    assert '[[registry.mirror]]\nlocation = "10.0.2.2:5000"\ninsecure = true' in text
    assert added.where == MIRROR_DROPIN and "quay.io" in added.detail


def test_no_containers_no_mirror():
    cfg = sample_config()
    cfg["storage"]["files"] = cfg["storage"]["files"][1:]
    assert image_references(cfg) == []
    assert add_registry_mirror(cfg, "10.0.2.2:5000") == (cfg, None)


def test_a_config_that_writes_the_dropin_path_is_refused():
    cfg = sample_config()
    cfg["storage"]["files"].append({"path": MIRROR_DROPIN, "contents": {"source": data_url("x")}})
    with pytest.raises(ConfigError, match="already writes"):
        add_registry_mirror(cfg, "10.0.2.2:5000")


def test_selinux_and_disk_serials():
    cfg = sample_config()
    assert selinux_requested(cfg) is None
    cfg["storage"]["files"].append({"path": "/etc/selinux/config",
                                    "contents": {"source": data_url("SELINUX=enforcing\n")}})
    assert selinux_requested(cfg) == "enforcing"
    assert data_disk_serials(cfg) == ["data0"]


def test_a_wrapped_config_is_read_as_the_config_ignition_applies(tmp_path):
    import json

    from stoker.boot.expect import derive
    from stoker.boot.ignition import load_config
    from stoker.fleet.budget import wrap
    path = tmp_path / "big.ign"
    path.write_bytes(wrap(json.dumps(sample_config()).encode(), "3.3.0"))
    cfg = load_config(path)
    assert [s.name for s in derive(cfg).services] == ["web.service"]
    assert cfg["ignition"]["version"] == "3.3.0"


def test_load_config_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.ign"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="bad.ign is not JSON"):
        from stoker.boot.ignition import load_config
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.ign")

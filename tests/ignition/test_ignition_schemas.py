"""The committed schemas are the generator's output and encode the version differences."""

import copy
import json

import pytest

from stoker.ignition import SUPPORTED_VERSIONS, check_schema
from stoker.ignition.gen_schemas import render
from stoker.ignition.schema import SCHEMA_DIR
from stoker.report import format_path


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_committed_schema_equals_generator_output(version):
    committed = (SCHEMA_DIR / f"ignition-{version}.json").read_text()
    assert committed == render(version), "run: .venv/bin/python -m stoker.ignition.gen_schemas"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_schema_is_draft_2020_12(version):
    schema = json.loads((SCHEMA_DIR / f"ignition-{version}.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


LUKS_3_5 = {"ignition": {"version": "3.5.0"}, "storage": {"luks": [{
    "name": "root", "device": "/dev/vda4", "discard": True, "openOptions": ["--perf-no_read_workqueue"],
    "cex": {"enabled": True},
    "clevis": {"tang": [{"url": "http://t", "thumbprint": "x", "advertisement": "{}"}]}}]}}


def with_version(config, version):
    config = copy.deepcopy(config)
    config["ignition"]["version"] = version
    return config


def paths(entries):
    return [e.path for e in entries]


def test_fields_appear_in_their_spec_version():
    assert check_schema(LUKS_3_5, "3.5.0") == []
    assert check_schema(with_version(LUKS_3_5, "3.6.0"), "3.6.0") == []
    in_3_4 = check_schema(with_version(LUKS_3_5, "3.4.0"), "3.4.0")
    assert paths(in_3_4) == [("storage", "luks", 0)]
    assert "'cex'" in in_3_4[0].message
    in_3_3 = check_schema(with_version(LUKS_3_5, "3.3.0"), "3.3.0")
    assert [("storage", "luks", 0), ("storage", "luks", 0, "clevis", "tang", 0)] == paths(in_3_3)
    assert all(word in in_3_3[0].message for word in ("'cex'", "'discard'", "'openOptions'"))


def test_schema_errors_carry_json_paths_and_clear_messages():
    config = {"ignition": {"version": "3.4.0"}, "storage": {"files": [
        {"path": "/f", "mode": "0644", "contents": {"compression": "xz"}},
        {"path": "/g", "mdoe": 420}]}}
    found = {e.path: e.message for e in check_schema(config, "3.4.0")}
    assert set(found) == {("storage", "files", 0, "mode"), ("storage", "files", 0, "contents", "compression"),
                          ("storage", "files", 1)}
    assert "'mdoe'" in found[("storage", "files", 1)]
    assert all(e.kind == "error" for e in check_schema(config, "3.4.0"))


def test_version_must_match_the_schema():
    found = check_schema({"ignition": {"version": "3.3.0"}}, "3.4.0")
    assert paths(found) == [("ignition", "version")]
    assert "3.4.0" in found[0].message


def test_hash_and_guid_formats():
    config = {"ignition": {"version": "3.4.0"},
              "storage": {"files": [{"path": "/f", "contents": {"source": "https://e/x",
                                                               "verification": {"hash": "sha512-abc"}}}],
                          "disks": [{"device": "/dev/vda", "partitions": [{"number": 1, "typeGuid": "linux"}]}]}}
    assert sorted(paths(check_schema(config, "3.4.0"))) == [
        ("storage", "disks", 0, "partitions", 0, "typeGuid"),
        ("storage", "files", 0, "contents", "verification", "hash")]


def test_older_specs_lack_later_fields_and_require_what_ignition_required():
    def errors(config, version):
        return sorted(format_path(e.path) + ": " + e.message for e in check_schema(config, version))

    proxy = {"ignition": {"version": "3.0.0", "proxy": {"httpProxy": "http://p"}}}
    assert [e.path for e in check_schema(proxy, "3.0.0")] == [("ignition",)]
    assert check_schema(with_version(proxy, "3.1.0"), "3.1.0") == []
    # raid level and devices, and a link's target, were non-omitempty until 3.3.0
    storage = {"raid": [{"name": "md"}], "links": [{"path": "/l"}]}
    assert errors({"ignition": {"version": "3.2.0"}, "storage": storage}, "3.2.0") == [
        "$.storage.links.0: 'target' is a required property",
        "$.storage.raid.0: 'devices' is a required property",
        "$.storage.raid.0: 'level' is a required property"]
    assert check_schema({"ignition": {"version": "3.3.0"}, "storage": storage}, "3.3.0") == []
    # sha256 from 3.1.0, format "none" from 3.3.0
    sha256 = {"path": "/f", "contents": {"source": "https://e/f", "verification": {"hash": "sha256-" + "a" * 64}}}
    assert [e.path for e in check_schema({"ignition": {"version": "3.0.0"}, "storage": {"files": [sha256]}},
                                         "3.0.0")] == [("storage", "files", 0, "contents", "verification", "hash")]
    none = {"filesystems": [{"device": "/dev/vdb", "format": "none"}]}
    assert len(check_schema({"ignition": {"version": "3.2.0"}, "storage": none}, "3.2.0")) == 1
    assert check_schema({"ignition": {"version": "3.3.0"}, "storage": none}, "3.3.0") == []


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_definition_is_used(version):
    schema = json.loads(render(version))
    text = json.dumps({k: v for k, v in schema.items() if k != "$defs"}) + json.dumps(schema["$defs"])
    for name in schema["$defs"]:
        assert f'"#/$defs/{name}"' in text, name

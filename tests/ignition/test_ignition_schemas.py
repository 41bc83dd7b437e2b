"""The committed schemas are the generator's output and encode the version differences."""

import copy
import json

import pytest

from stoker.ignition import SUPPORTED_VERSIONS, check_schema
from stoker.ignition.gen_schemas import render
from stoker.ignition.schema import SCHEMA_DIR


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

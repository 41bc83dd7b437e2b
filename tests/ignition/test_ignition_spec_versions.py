"""Every spec Fedora CoreOS accepts, 3.0.0 to 3.7.0-experimental, with what each adds or forbids.

The expectations follow coreos/ignition v2.26.0 config/v3_*/types (the Ignition
that Butane v0.29.0 vendors).
"""

import json
from pathlib import Path

import pytest

from stoker.ignition import SUPPORTED_VERSIONS, check_schema, validate, validate_document
from stoker.ignition.versions import INTRODUCED, has, parse_semver, spec_of
from stoker.report import ERROR, WARNING, format_path

DATA = Path(__file__).parent / "data"
SPECIAL = "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"
H256 = "sha256-" + "ab" * 32


def found(result):
    return [(e.kind, format_path(e.path), e.message) for e in result.entries]


def doc(version, **sections):
    return json.dumps({"ignition": {"version": version, **sections.pop("ignition", {})}, **sections})


def test_supported_versions_are_ordered_and_known_to_every_entry_point():
    assert SUPPORTED_VERSIONS == ("3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
                                  "3.7.0-experimental")
    assert sorted(SUPPORTED_VERSIONS, key=parse_semver) == list(SUPPORTED_VERSIONS)
    for version in SUPPORTED_VERSIONS:
        assert validate({"ignition": {"version": version}}, version) == []
        assert check_schema({"ignition": {"version": version}}, version) == []
        assert validate_document(doc(version)).version == version


def test_feature_table_names_supported_versions():
    assert set(INTRODUCED.values()) <= set(SUPPORTED_VERSIONS)
    assert has("3.7.0-experimental", "clevis.custom_pin_any") and not has("3.0.0", "proxy")


def test_go_semver_reading():
    assert parse_semver("3.4.0") == (3, 4, 0, "", "")
    assert parse_semver("03.4.0-rc.1+b") == (3, 4, 0, "rc.1", "b")
    assert [parse_semver(t) for t in ("3.4", "3.4.0.1", "3.4.x", "3.4.0-a..b", "3.4.0\n", "", "３.4.0")] == [None] * 7
    assert spec_of("3.7.0-experimental") == "3.7.0-experimental" and spec_of("3.4.0+meta") is None


# -- valid documents of every spec --

SPEC_FILES = {path.stem: path for path in sorted((DATA / "specs").glob("*.ign"))}
CORPUS_BY_VERSION = {}
for _path in sorted(DATA.glob("*/plain.stdout")):
    CORPUS_BY_VERSION.setdefault(json.loads(_path.read_text())["ignition"]["version"], _path)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_realistic_config_of_every_spec_is_valid(version):
    path = SPEC_FILES.get(version) or CORPUS_BY_VERSION[version]
    result = validate_document(path.read_bytes())
    assert result.version == version
    assert result.ok
    assert [e for e in result.entries if e.message != SPECIAL] == []  # the corpus warns on purpose
    assert check_schema(result.config, version) == []


# -- what each version adds or forbids --

UNUSED = [  # (field, sections, versions where the field is an unused key)
    ("ignition.proxy", {"ignition": {"proxy": {"httpProxy": "http://p:3128"}}}, ["3.0.0"]),
    ("resource.httpHeaders",
     {"storage": {"files": [{"path": "/f", "contents": {"source": "https://e/f",
                                                        "httpHeaders": [{"name": "a", "value": "b"}]}}]}},
     ["3.0.0"]),
    ("merge compression", {"ignition": {"config": {"merge": [{"source": "https://e/c", "compression": ""}]}}},
     ["3.0.0"]),
    ("filesystem.mountOptions",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "xfs", "mountOptions": ["noatime"]}]}},
     ["3.0.0"]),
    ("storage.luks", {"storage": {"luks": [{"name": "d", "device": "/dev/vdb"}]}}, ["3.0.0", "3.1.0"]),
    ("partition.resize", {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"number": 4,
                                                                                       "resize": True}]}]}},
     ["3.0.0", "3.1.0"]),
    ("passwd shouldExist", {"passwd": {"users": [{"name": "old", "shouldExist": False}]}}, ["3.0.0", "3.1.0"]),
    ("kernelArguments", {"kernelArguments": {"shouldExist": ["quiet"]}}, ["3.0.0", "3.1.0", "3.2.0"]),
    ("luks.discard", {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "discard": True}]}},
     ["3.2.0", "3.3.0"]),
    ("tang.advertisement", {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "clevis": {"tang": [
        {"url": "http://t", "thumbprint": "x", "advertisement": "{}"}]}}]}}, ["3.2.0", "3.3.0"]),
    ("luks.cex", {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "cex": {"enabled": False}}]}},
     ["3.2.0", "3.3.0", "3.4.0"]),
]


@pytest.mark.parametrize("name,sections,missing_in", UNUSED, ids=[u[0] for u in UNUSED])
def test_fields_of_later_specs_are_unused_keys_before(name, sections, missing_in):
    first = min((v for v in SUPPORTED_VERSIONS if v not in missing_in and v > missing_in[0]), key=parse_semver)
    for version in (missing_in[-1], first):
        result = validate_document(doc(version, **sections))
        assert result.ok, (version, found(result))
        unused = [e for e in result.entries if e.message.startswith("unused key")]
        assert bool(unused) == (version in missing_in), (version, found(result))
        assert all(e.kind == WARNING for e in result.entries)


RULES = [  # (rule, sections, {version: expected entries})
    ("format none from 3.3.0", {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "none"}]}},
     {"3.2.0": [(ERROR, "$.storage.filesystems.0.format", "invalid filesystem format")], "3.3.0": []}),
    ("gs:// from 3.2.0", {"storage": {"files": [{"path": "/f", "contents": {"source": "gs://b/o"}}]}},
     {"3.1.0": [(ERROR, "$.storage.files.0.contents.source", "invalid url scheme")], "3.2.0": []}),
    ("S3 ARNs from 3.4.0", {"storage": {"files": [{"path": "/f", "contents": {"source": "arn:aws:s3:::b/k"}}]}},
     {"3.3.0": [(ERROR, "$.storage.files.0.contents.source", "invalid url scheme")], "3.4.0": []}),
    ("sha256 from 3.1.0",
     {"storage": {"files": [{"path": "/f", "contents": {"source": "https://e/f", "verification": {"hash": H256}}}]}},
     {"3.0.0": [(ERROR, "$.storage.files.0.contents.verification.hash", "unrecognized hash function")],
      "3.1.0": []}),
    ("special mode bits warned before 3.6.0", {"storage": {"files": [{"path": "/f", "mode": 0o4755}]}},
     {"3.0.0": [(WARNING, "$.storage.files.0.mode", SPECIAL)], "3.5.0": [(WARNING, "$.storage.files.0.mode", SPECIAL)],
      "3.6.0": [], "3.7.0-experimental": []}),
    ("merge source required from 3.1.0",
     {"ignition": {"config": {"merge": [{"verification": {"hash": "sha512-" + "0" * 128}}]}}},
     {"3.0.0": [],
      "3.1.0": [(ERROR, "$.ignition.config.merge.0", "source is required"),
                (ERROR, "$.ignition.config.merge.0.verification.hash",
                 "source must be specified if verification is specified")]}),
    ("a CA needs a source in every spec, in its own words",
     {"ignition": {"security": {"tls": {"certificateAuthorities": [{}]}}}},
     {"3.0.0": [(ERROR, "$.ignition.security.tls.certificateAuthorities.0.source", "invalid url scheme")],
      "3.1.0": [(ERROR, "$.ignition.security.tls.certificateAuthorities.0", "source is required")]}),
    ("link target required from 3.3.0", {"storage": {"links": [{"path": "/l"}]}},
     {"3.2.0": [], "3.3.0": [(ERROR, "$.storage.links.0.target", "link target is required")]}),
    ("raid level required from 3.3.0", {"storage": {"raid": [{"name": "md", "devices": ["/dev/vdb"]}]}},
     {"3.2.0": [(ERROR, "$.storage.raid.0.level", "unrecognized raid level")],
      "3.3.0": [(ERROR, "$.storage.raid.0.level", "raid level is required")]}),
    ("clevis custom in 3.2.0: present means used, an empty pin is unknown",
     {"storage": {"luks": [{"name": "d", "device": "/dev/vdb",
                            "clevis": {"tpm2": True, "custom": {"config": "{}"}}}]}},
     {"3.2.0": [(ERROR, "$.storage.luks.0.clevis", "cannot use custom clevis config with tpm2, tang, or threshold"),
                (ERROR, "$.storage.luks.0.clevis.custom.pin", "unsupported clevis pin")],
      "3.3.0": [(ERROR, "$.storage.luks.0.clevis.custom.pin", "missing required custom clevis pin")]}),
    ("any clevis pin from 3.6.0",
     {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "clevis": {"custom": {"pin": "yk", "config": "{}"}}}]}},
     {"3.5.0": [(ERROR, "$.storage.luks.0.clevis.custom.pin", "unsupported clevis pin")], "3.6.0": [],
      "3.7.0-experimental": []}),
    ("cex rules from 3.5.0",
     {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "cex": {"enabled": True}, "clevis": {"tpm2": True}}]}},
     {"3.5.0": [(ERROR, "$.storage.luks.0.cex", "cannot use cex with clevis")],
      "3.7.0-experimental": [(ERROR, "$.storage.luks.0.cex", "cannot use cex with clevis")]}),
]


@pytest.mark.parametrize("rule,sections,expected", RULES, ids=[r[0] for r in RULES])
def test_version_specific_rules(rule, sections, expected):
    for version, entries in expected.items():
        assert found(validate_document(doc(version, **sections))) == entries, version
        # validate() applies the same version rules to a generated config
        config = {"ignition": {"version": version, **sections.get("ignition", {})},
                  **{k: v for k, v in sections.items() if k != "ignition"}}
        assert [(e.kind, format_path(e.path), e.message) for e in validate(config, version)] == entries, version


def test_types_change_between_versions():
    # link.target is a string in 3.2.0 (a pointer from 3.3.0): Go names the type after the pointer
    link = {"storage": {"links": [{"path": "/l", "target": 5}]}}
    assert found(validate_document(doc("3.2.0", **link))) == [
        (ERROR, "$.storage.links.0.target",
         "json: cannot unmarshal number into Go struct field Link.storage.links.target of type string")]
    # 3.0.0 file contents are a FileContents, later a Resource
    contents = {"storage": {"files": [{"path": "/f", "contents": "data:,x"}]}}
    assert found(validate_document(doc("3.0.0", **contents)))[0][2].endswith("of type types.FileContents")
    assert found(validate_document(doc("3.1.0", **contents)))[0][2].endswith("of type types.Resource")
    # the 3.2.0 clevis custom is a *Custom; null clears it and is no mismatch
    luks = {"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "clevis": {"custom": None}}]}}
    assert found(validate_document(doc("3.2.0", **luks))) == []


def test_3_7_0_experimental_is_3_6_0_in_the_vendored_ignition():
    # Ignition v2.26.0's v3_7_experimental differs from v3_6 only in its version; "virtiofs" came later
    fs = {"storage": {"filesystems": [{"device": "share", "format": "virtiofs", "path": "/mnt"}]}}
    assert found(validate_document(doc("3.7.0-experimental", **fs))) == found(validate_document(doc("3.6.0", **fs)))
    assert (ERROR, "$.storage.filesystems.0.format", "invalid filesystem format") in \
        found(validate_document(doc("3.7.0-experimental", **fs)))

"""validate_document reads a whole .ign file as Ignition does: JSON, version, Go types, rules, positions."""

import json
from pathlib import Path

import pytest

from stoker.ignition import validate, validate_document
from stoker.report import ERROR, WARNING, format_path

DATA = Path(__file__).parent / "data"
SPECIAL = "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"


def found(result):
    return [(e.kind, format_path(e.path), e.message) for e in result.entries]


def located(result):
    return [(e.kind, format_path(e.path), e.message, e.line, e.column) for e in result.entries]


def doc(version="3.5.0", **sections):
    return json.dumps({"ignition": {"version": version}, **sections})


# -- the everyday mistakes --

def test_relative_file_path():
    result = validate_document('{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"etc/motd"}]}}')
    assert result.version == "3.5.0" and not result.ok
    assert located(result) == [(ERROR, "$.storage.files.0.path", "path not absolute", 1, 61)]


def test_unit_without_extension():
    result = validate_document('{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"web"}]}}')
    assert located(result) == [(ERROR, "$.systemd.units.0.name", "invalid systemd unit extension", 1, 61)]


def test_same_file_twice():
    text = json.dumps({"ignition": {"version": "3.3.0"},
                       "storage": {"files": [{"path": "/etc/motd"}, {"path": "/etc/motd"}]}}, indent=2)
    result = validate_document(text)
    assert found(result) == [(ERROR, "$.storage.files.1", "duplicate entry defined")]
    lines = text.splitlines()
    second = [i for i, line in enumerate(lines, 1) if '"path": "/etc/motd"' in line][1] - 1
    assert (result.entries[0].line, result.entries[0].column) == (second, 7)
    assert lines[second - 1] == "      {"


@pytest.mark.parametrize("mode,value", [("420.0", "number 420.0"), ('"420"', "string"), ("1e3", "number 1e3"),
                                        ("true", "bool"), ("99999999999999999999", "number 99999999999999999999")])
def test_mode_of_the_wrong_type(mode, value):
    text = '{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/a","mode":' + mode + '}]}}'
    result = validate_document(text)
    assert located(result) == [(ERROR, "$.storage.files.0.mode",
                                f"json: cannot unmarshal {value} into Go struct field File.storage.files.mode of type int",
                                1, text.index(mode) + 1)]


def test_every_type_error_is_reported_and_the_rest_still_checked():
    text = doc("3.4.0", storage={"files": ["/etc/motd", {"path": 5}, {"path": "rel"}],
                                 "links": {"path": "/l"}, "raid": [{"name": "md", "devices": [1]}]},
               systemd={"units": [{"name": "a.service", "enabled": "yes"}]})
    assert found(validate_document(text)) == [
        (ERROR, "$.storage.files.0", "json: cannot unmarshal string into Go struct field Storage.storage.files "
                                     "of type types.File"),
        (ERROR, "$.storage.files.1.path", "json: cannot unmarshal number into Go struct field File.storage.files.path "
                                          "of type string"),
        (ERROR, "$.storage.links", "json: cannot unmarshal object into Go struct field Storage.storage.links "
                                   "of type []types.Link"),
        (ERROR, "$.storage.raid.0.devices.0", "json: cannot unmarshal number into Go struct field "
                                              "Raid.storage.raid.devices of type types.Device"),
        (ERROR, "$.systemd.units.0.enabled", "json: cannot unmarshal string into Go struct field "
                                             "Unit.systemd.units.enabled of type bool"),
        # the checks skip what did not decode and see the rest as Go does: a mistyped value is left at
        # its zero value, so files 0 and 1 both have the empty path
        (ERROR, "$.storage.files.2.path", "path not absolute"),
        (ERROR, "$.storage.raid.0.level", "raid level is required"),
        (ERROR, "$.storage.files.1", "duplicate entry defined"),
    ]


def test_unknown_key_is_only_a_warning():
    result = validate_document(doc(storage={"files": [{"path": "/etc/motd", "mdoe": 420}]}))
    assert result.ok
    assert found(result) == [(WARNING, "$.storage.files.0.mdoe", "unused key mdoe")]


def test_unused_key_points_at_the_key():
    text = '{"ignition": {"version": "3.5.0"},\n "storage": {"files": [{"path": "/a", "mdoe": 420}]}}'
    assert located(validate_document(text)) == [(WARNING, "$.storage.files.0.mdoe", "unused key mdoe", 2, 39)]


# -- degenerate documents: always a located error, never an exception --

@pytest.mark.parametrize("data,message,path,position", [
    (b"", "not a config (empty)", "$", (1, 1)),
    ("{}", "invalid config version (couldn't parse)", "$.ignition.version", (1, 1)),
    ('{"ignition":{}}', "invalid config version (couldn't parse)", "$.ignition.version", (1, 13)),
    ('{"ignition":{"version":""}}', "invalid config version (couldn't parse)", "$.ignition.version", (1, 24)),
    ('{"ignition":{"version":"3.x"}}', "invalid config version (couldn't parse)", "$.ignition.version", (1, 24)),
    ("null", "invalid config version (couldn't parse)", "$.ignition.version", (1, 1)),
    ("[1]", "json: cannot unmarshal array into Go value of type util.versionStub", "$", (1, 1)),
    ('""', "json: cannot unmarshal string into Go value of type util.versionStub", "$", (1, 1)),
    ("1", "json: cannot unmarshal number into Go value of type util.versionStub", "$", (1, 1)),
    ('{"ignition":"3.4.0"}', "json: cannot unmarshal string into Go struct field versionStub.Ignition of type "
                             "struct { Version string }", "$.ignition", (1, 13)),
    ('{"ignition":{"version":3.4}}', "json: cannot unmarshal number into Go struct field .Ignition.Version of "
                                     "type string", "$.ignition.version", (1, 24)),
    ("   ", "unexpected end of JSON input", "$", (1, 4)),
    ('{"ignition":\n  {"version" "3.4.0"}}', "invalid character '\"' after object key", "$", (2, 14)),
    (b'\xff{"ignition":{"version":"3.4.0"}}', "invalid character 'ÿ' looking for beginning of value", "$", (1, 1)),
    ("NaN", "invalid character 'N' looking for beginning of value", "$", (1, 1)),
    ("[" * 20000, "invalid character '[' exceeded max depth", "$", (1, 10001)),
    ("\ufeff{}", "invalid character 'ï' looking for beginning of value", "$", (1, 1)),
])
def test_degenerate_documents(data, message, path, position):
    result = validate_document(data)
    assert [(e.kind, format_path(e.path), e.message, (e.line, e.column)) for e in result.entries] == \
        [(ERROR, path, message, position)]


def test_unsupported_version_names_the_known_ones():
    result = validate_document('{"ignition":{"version":"3.8.0"}}')
    assert result.version == "3.8.0"
    assert result.entries[0].message.startswith("unsupported config version (stoker knows 3.0.0, 3.1.0,")
    assert result.entries[0].message.endswith("3.7.0-experimental)")


@pytest.mark.parametrize("text,spec", [("3.0.0", "3.0.0"), ("03.1.0", "3.1.0"), ("3.2.0-", "3.2.0"),
                                       ("3.7.0-experimental", "3.7.0-experimental"), ("3.3.0+build", None),
                                       ("3.7.0", None), ("2.3.0", None), ("3.6.0-experimental", None)])
def test_version_is_read_like_go_semver(text, spec):
    result = validate_document(doc(text))
    assert result.ok == (spec is not None)
    if spec is not None:
        assert result.version == spec


def test_deeply_nested_but_valid_json_under_an_unknown_key():
    text = '{"ignition":{"version":"3.4.0"},"extra":' + "[" * 9000 + "]" * 9000 + "}"
    result = validate_document(text)
    assert found(result) == [(WARNING, "$.extra", "unused key extra")]
    assert isinstance(result.config["extra"], list)


def test_non_utf8_bytes_in_a_string_become_replacement_characters():
    data = b'{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"\xff\xfe/x"}]}}'
    result = validate_document(data)
    assert found(result) == [(ERROR, "$.storage.files.0.path", "path not absolute")]
    assert result.config["storage"]["files"][0]["path"] == "\ufffd\ufffd/x"


def test_lone_surrogates_and_huge_numbers_do_not_break_anything():
    text = '{"ignition":{"version":"3.4.0"},"x":"\\ud800","y":' + "9" * 5000 + "}"
    result = validate_document(text)
    assert [e.message for e in result.entries] == ["unused key x", "unused key y"]
    assert result.config["x"] == "\ufffd"
    assert validate_document('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/\ud800"}]}}').ok


# -- Go's decoding rules --

def test_keys_match_fields_case_insensitively_and_are_still_reported():
    text = '{"ignition":{"version":"3.4.0"},"Storage":{"files":[{"PATH":"rel","bogus":1}]}}'
    result = validate_document(text)
    assert located(result) == [
        (ERROR, "$.storage.files.0.path", "path not absolute", 1, 61),
        (WARNING, "$.Storage", "unused key Storage", 1, 33),
        (WARNING, "$.storage.files.0.PATH", "unused key PATH", 1, 54),
        (WARNING, "$.storage.files.0.bogus", "unused key bogus", 1, 67),
    ]
    # Go's fold also maps the Kelvin sign to k and the long s to s
    assert found(validate_document('{"ignition":{"version":"3.4.0"},"ſtorage":{"files":[{"path":"/a"}]},'
                                   '"\u212aernelArguments":{"shouldExist":["a","a"]}}'))[:1] == \
        [(ERROR, "$.kernelArguments.shouldExist.1", "duplicate entry defined")]


def test_null_is_accepted_anywhere():
    text = doc("3.4.0", storage={"files": [{"path": "/a", "mode": None, "contents": None}], "links": None},
               passwd=None)
    result = validate_document(text)
    assert result.ok
    # Ignition's unused-key walk finds null where a struct is, and says so
    assert found(result) == [
        (WARNING, "$.passwd", "context tree does not match content tree at $.passwd. Line and column reporting "
                              "may be inconsistent. Unused keys may not be reported"),
        (WARNING, "$.storage.files.0.contents", "context tree does not match content tree at "
                                                "$.storage.files.0.contents. Line and column reporting may be "
                                                "inconsistent. Unused keys may not be reported")]


def test_repeated_keys_decode_into_the_same_struct():
    # Go merges the second "ignition" object into the first: the version stays
    text = '{"ignition":{"version":"3.4.0"},"ignition":{"timeouts":{"httpTotal":5}},' \
           '"storage":{"files":[{"path":"/a","mode":420}]},"storage":{"files":[{"path":"rel"}]}}'
    result = validate_document(text)
    assert result.version == "3.4.0"
    assert found(result) == [(ERROR, "$.storage.files.0.path", "path not absolute")]
    assert result.config["storage"] == {"files": [{"path": "rel"}]}  # the plain JSON: later keys win


# -- Ignition's order: semantic checks, then duplicates, then unused keys --

def test_entries_come_in_ignitions_order():
    text = doc("3.4.0", zzz=1, storage={"files": [{"path": "/a", "x": 1}, {"path": "/a"}],
                                        "links": [{"path": "l", "target": "/t"}]})
    assert found(validate_document(text)) == [
        (ERROR, "$.storage.links.0.path", "path not absolute"),
        (ERROR, "$.storage.files.1", "duplicate entry defined"),
        (WARNING, "$.zzz", "unused key zzz"),
        (WARNING, "$.storage.files.0.x", "unused key x"),
    ]


def test_entry_at_a_path_that_is_not_in_the_text_points_at_its_parent():
    text = doc("3.4.0", storage={"luks": [{"name": "d", "device": "/dev/vdb", "keyFile": {"source": "ftp://k"}}]})
    result = validate_document(text)
    assert found(result)[0] == (ERROR, "$.storage.luks.0.keys", "invalid key-file source")
    assert result.entries[0].column == text.index('{"name"') + 1


# -- rules of Ignition v2.26.0 (the Ignition Butane v0.29.0 vendors) that stoker's first port missed --

@pytest.mark.parametrize("sections,expected", [
    ({"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"label": "a:b"}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0.label", "partition label will be truncated to text before the colon")]),
    ({"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"label": "é" * 20}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0.label", "partition labels may not exceed 36 characters")]),
    ({"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "cex": {"enabled": True},
                            "clevis": {"custom": {"config": "{}"}}}]}},
     [(ERROR, "$.storage.luks.0.clevis.custom.pin", "missing required custom clevis pin")]),
    ({"systemd": {"units": [{"name": "web@.service", "contents": "[Service]\nExecStart=/x\n"},
                            {"name": "web@a.service", "enabled": True}]}},
     [(WARNING, "$.systemd.units.1.contents",
       'template unit "web@.service" for "web@a.service" doesn\'t have Install section')]),
    ({"storage": {"luks": [{"name": "d", "device": "/dev/vdb", "openOptions": ["--x", "--x"]}]}},
     [(ERROR, "$.storage.luks.0.openOptions.1", "duplicate entry defined")]),
])
def test_document_and_butane_follow_ignition_2_26(sections, expected):
    config = {"ignition": {"version": "3.5.0"}, **sections}
    assert found(validate_document(json.dumps(config))) == expected
    assert [(e.kind, format_path(e.path), e.message) for e in validate(config, "3.5.0")] == expected


def test_version_with_leading_zero_is_read_as_go_semver_does():
    assert validate_document(doc("03.5.0")).ok
    assert validate({"ignition": {"version": "03.5.0"}}, "3.5.0") == []


# -- the official outputs --

def _is_config(path):
    try:
        return "ignition" in json.loads(path.read_text())
    except (ValueError, TypeError):
        return False


CORPUS = [p for p in sorted(DATA.glob("*/plain.stdout"))
          + sorted((DATA.parent.parent / "butane" / "corpus").glob("*/*.stdout")) if _is_config(p)]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_outputs_give_the_same_entries_as_validate(path):
    text = path.read_text()
    config = json.loads(text)
    result = validate_document(text)
    assert result.config == config
    assert sorted(found(result)) == sorted((e.kind, format_path(e.path), e.message)
                                           for e in validate(config, config["ignition"]["version"]))
    assert all(e.line and e.column for e in result.entries)


def test_case_13_warnings_are_located_in_the_pretty_output():
    text = (DATA.parent.parent / "butane" / "corpus" / "13-warnings-v1_6" / "pretty.stdout").read_text()
    lines = text.splitlines()
    result = validate_document(text)
    assert [format_path(e.path) for e in result.entries] == [
        "$.storage.directories.0.mode", "$.storage.files.0.mode", "$.systemd.units.0.contents"]
    assert [lines[e.line - 1][e.column - 1:] for e in result.entries] == [
        "755", "644", '"[Service]\\nExecStart=/usr/bin/true\\n",']


def test_entries_under_links_are_found_by_prefix_as_often_as_the_link_is_listed():
    from stoker.ignition import validate

    config = {"ignition": {"version": "3.3.0"}, "storage": {
        "links": [{"path": "/a", "target": "/x"}, {"path": "/a", "target": "/y"}, {"path": "/ab", "target": "/z"}],
        "files": [{"path": "/a/b/c"}, {"path": "/abc"}], "directories": [{"path": "/ab/d"}]}}
    found = [(e.path, e.message) for e in validate(config, "3.3.0") if "includes link" in e.message]
    assert [p for p, _ in found].count(("storage", "files", 0)) == 2, found
    assert ("storage", "directories", 0) in [p for p, _ in found]
    assert ("storage", "files", 1) not in [p for p, _ in found], "/abc is not under /ab or /a"

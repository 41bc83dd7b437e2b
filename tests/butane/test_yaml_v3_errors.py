"""YAML faults as Butane v0.29.0 reports them through gopkg.in/yaml.v3 v3.0.1
(break-it review #5, #7, #8, #9, #10): the wording and line rule of libyaml's
syntax errors (decode.go parser.fail), merge keys and aliases as yaml.v3 decodes
them and vcontext's context tree holds them, explicit tags, and the details of
unmarshal errors (Go type names, values cut to 7 bytes)."""

from __future__ import annotations

import json

import pytest

from stoker.butane import translate

HEAD = "variant: fcos\nversion: 1.4.0\n"
FILE = "storage:\n  files:\n    - path: /a\n      "
UNMARSHAL = "Error unmarshaling yaml: "
MISMATCH = ("context tree does not match content tree at {}. Line and column reporting may be "
            "inconsistent. Unused keys may not be reported")


def warnings(result) -> list[str]:
    return [e.raw() for e in result.report.entries]


# -- #5 syntax errors: libyaml's problem; parser errors at the 0-based line of the
# context mark (else the problem mark), scanner errors 1-based, none on line 1

@pytest.mark.parametrize("text, error", [
    (HEAD + "storage:\n\tfiles: []\n", "yaml: line 4: found character that cannot start any token"),
    (HEAD + "storage: [\n", "yaml: line 3: did not find expected node content"),
    (HEAD + "storage: [", "yaml: line 3: did not find expected node content"),
    (HEAD + "foo: [a, b\n", "yaml: line 2: did not find expected ',' or ']'"),
    (HEAD + "foo: {a: 1\n", "yaml: line 2: did not find expected ',' or '}'"),
    (HEAD + "a: b: c\n", "yaml: line 3: mapping values are not allowed in this context"),
    (HEAD + "a: 'x\n", "yaml: line 3: found unexpected end of stream"),
    (HEAD + 'a: "x\n---\n', "yaml: line 3: found unexpected document indicator"),
    (HEAD + "a: |0\n", "yaml: line 3: found an indentation indicator equal to 0"),
    (HEAD + "a: |x\n", "yaml: line 3: did not find expected comment or line break"),
    (HEAD + 'a: "\\q"\n', "yaml: line 3: found unknown escape character"),
    (HEAD + "a: &\n", "yaml: line 3: did not find expected alphabetic or numeric character"),
    (HEAD + "a: !<x\n", "yaml: line 3: did not find the expected '>'"),
    (HEAD + "a: !e!x 1\n", "yaml: line 2: found undefined tag handle"),
    (HEAD + "a:\n  - b\n  c: d\n", "yaml: line 3: did not find expected '-' indicator"),
    (HEAD + "- a\n", "yaml: line 2: did not find expected key"),
    ("- *nope\n", "yaml: unknown anchor 'nope' referenced"),
    ("%FOO bar\n---\n" + HEAD, "yaml: found unknown directive name"),
    ("# c\n%FOO\n---\n" + HEAD, "yaml: line 2: found unknown directive name"),
])
def test_syntax_errors_are_worded_as_libyaml(text, error):
    assert translate(text).error == UNMARSHAL + error


@pytest.mark.parametrize("data, problem", [
    (b"variant: fcos\x01\n", "control characters are not allowed"),
    (b"variant: fcos\xff\n", "invalid leading UTF-8 octet"),
    (b"variant: \xe2\x82", "incomplete UTF-8 octet sequence"),
    (b"variant: \xe2\x82A\n", "invalid trailing UTF-8 octet"),
    (b"variant: \xc0\x80\n", "invalid length of a UTF-8 sequence"),
    (b"variant: \xed\xa0\x80\n", "invalid Unicode character"),
    (b"\xff\xfea\x00\x00", "incomplete UTF-16 character"),
])
def test_reader_errors_have_no_line(data, problem):
    assert translate(data).error == f"{UNMARSHAL}yaml: {problem}"


def test_a_later_anchor_replaces_an_earlier_one():
    text = HEAD + "a: &x core\nb: &x other\npasswd: {users: [{name: *x}]}\n"
    result = translate(text)
    assert json.loads(result.to_json())["passwd"]["users"] == [{"name": "other"}]


# -- #7 merge keys: merged where yaml.v3 decodes; `<<` itself an unused key

def test_a_merge_under_an_unknown_key_is_not_decoded():
    result = translate(HEAD + "foo: {<<: 5}\n")
    assert result.ok
    assert warnings(result) == ["warning at $.foo, line 3 col 1: unused key foo"]


@pytest.mark.parametrize("merge", ["5", "~", "[a]", "[{a: 1}, 5]"])
def test_a_merge_of_no_mapping_fails_the_decode(merge):
    result = translate(HEAD + FILE + f"<<: {merge}\n")
    assert result.error == "yaml: map merge requires map or sequence of maps as the value"


def test_a_merge_at_the_top_fails_while_reading_the_version():
    result = translate(HEAD + "<<: 5\n")
    assert result.error == UNMARSHAL + "yaml: map merge requires map or sequence of maps as the value"


def test_merged_keys_are_checked_against_the_raw_tree():
    text = HEAD + "x: &m {name: core, bogus: 1, uid: 12}\npasswd: {users: [{<<: *m, name: other}]}\n"
    result = translate(text)
    assert json.loads(result.to_json())["passwd"]["users"] == [{"name": "other", "uid": 12}]
    assert warnings(result) == ["warning at $.x, line 3 col 1: unused key x",
                                "warning at $.passwd.users.0.<<, line 4 col 19: unused key <<"]


def test_earlier_merge_sources_win():
    text = HEAD + "a: &a {name: a}\nb: &b {name: b, uid: 2}\npasswd: {users: [{<<: [*a, *b]}]}\n"
    result = translate(text)
    assert json.loads(result.to_json())["passwd"]["users"] == [{"name": "a", "uid": 2}]


# -- #8 aliases: leaves of the context tree

def test_keys_below_an_alias_are_not_checked():
    text = HEAD + "passwd: {users: &u [{name: alice, ssh_authorized_keys: [k]}], groups: *u}\n"
    result = translate(text, strict=True)
    assert result.ok and not result.report
    assert json.loads(result.to_json())["passwd"]["groups"] == [{"name": "alice"}]


def test_a_struct_at_an_alias_warns_and_is_placed_at_the_alias():
    text = HEAD + "x: &a {path: /a, mode: 07777777}\nstorage:\n  files:\n    - *a\n"
    result = translate(text)
    assert warnings(result) == [
        "warning at $.x, line 3 col 1: unused key x",
        "warning at $.storage.files.0, line 6 col 7: " + MISMATCH.format("$.storage.files.0"),
        "error at $.storage.files.0.mode, line 6 col 7: illegal file mode",
        "warning at $.storage.files.0.mode, line 6 col 7: setuid/setgid/sticky bits are not "
        "supported or functional in spec versions older than 3.6.0"]


def test_errors_inside_an_alias_are_at_the_anchor():
    result = translate(HEAD + "x: &a {path: /a, mode: rw}\nstorage: {files: [*a]}\n")
    assert result.error == "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `rw` into int"


def test_an_alias_inside_its_own_anchor_fails_when_decoded():
    result = translate(HEAD + "passwd: &p {<<: *p}\n")
    assert result.error == "yaml: anchor 'p' value contains itself"


# -- #9 explicit tags must resolve to themselves

@pytest.mark.parametrize("value, error", [
    ("overwrite: !!bool yes", "cannot decode !!str `yes` as a !!bool"),
    ("overwrite: !!null x", "cannot decode !!str `x` as a !!null"),
    ("mode: !!int 420.0", "cannot decode !!float `420.0` as a !!int"),
    ("mode: !!int abc", "cannot decode !!str `abc` as a !!int"),
    ("mode: !!timestamp 5", "cannot decode !!int `5` as a !!timestamp"),
])
def test_a_tag_the_value_does_not_resolve_to_fails(value, error):
    assert translate(HEAD + FILE + value + "\n").error == "yaml: " + error


def test_a_tag_fails_even_where_a_string_is_wanted():
    result = translate(HEAD + "passwd: {users: [{name: !!int abc}]}\n")
    assert result.error == "yaml: cannot decode !!str `abc` as a !!int"


@pytest.mark.parametrize("value, want", [("mode: !!float 420", 420), ("mode: !!int 0o644", 420),
                                          ("overwrite: !!bool true", True)])
def test_a_tag_the_value_resolves_to_is_decoded(value, want):
    result = translate(HEAD + FILE + "contents: {inline: x}\n      " + value + "\n")
    assert json.loads(result.to_json())["storage"]["files"][0][value.split(":")[0]] == want


# -- #10 unmarshal error details

@pytest.mark.parametrize("text, line, detail", [
    (HEAD + "storage: [1]\n", 3, "!!seq into v0_4.Storage"),
    ("variant: fcos\nversion: 1.0.0\nstorage: [1]\n", 3, "!!seq into v0_1.Storage"),
    ("variant: fcos\nversion: 1.8.0-experimental\nstorage: [1]\n", 3, "!!seq into v0_8_exp.Storage"),
    ("variant: flatcar\nversion: 1.0.0\npasswd: 1\n", 3, "!!int `1` into v0_4.Passwd"),
    ("variant: openshift\nversion: 4.14.0\nmetadata: [1]\n", 3, "!!seq into v4_14.Metadata"),
    ("variant: openshift\nversion: 4.14.0\nboot_device: 1\n", 3, "!!int `1` into v1_5.BootDevice"),
    (HEAD + "boot_device: {mirror: 5}\n", 3, "!!int `5` into v1_4.BootDeviceMirror"),
    (HEAD + "ignition: {config: {merge: [1]}}\n", 3, "!!int `1` into v0_4.Resource"),
    (HEAD + "passwd: {users: [{name: a, ssh_authorized_keys: [[1]]}]}\n", 3,
     "!!seq into v0_4.SSHAuthorizedKey"),
    (HEAD + "kernel_arguments: {should_exist: 1}\n", 3, "!!int `1` into []v0_4.KernelArgument"),
    (HEAD + FILE + "overwrite: maybe-not-at-all\n", 6, "!!str `maybe-n...` into bool"),
    (HEAD + FILE + "overwrite: abcdefghij\n", 6, "!!str `abcdefghij` into bool"),
    (HEAD + FILE + "mode: 2001-12-14\n", 6, "!!timestamp `2001-12-14` into int"),
    (HEAD + FILE + "mode: 99999999999999999999\n", 6, "!!float `9999999...` into int"),
    (HEAD + FILE + "mode: 1e400\n", 6, "!!str `1e400` into int"),
])
def test_unmarshal_error_details(text, line, detail):
    assert translate(text).error == f"yaml: unmarshal errors:\n  line {line}: cannot unmarshal {detail}"


@pytest.mark.parametrize("text, detail", [("- 1\n", "!!seq"), ("x\n", "!!str `x`")])
def test_a_top_level_of_no_mapping_names_the_version_struct(text, detail):
    assert translate(text).error == (f"{UNMARSHAL}yaml: unmarshal errors:\n  line 1: cannot "
                                     f"unmarshal {detail} into config.commonFields")


def test_binary_that_is_not_base64_fails_the_decode():
    result = translate(HEAD + 'passwd: {users: [{name: !!binary "!!!"}]}\n')
    assert result.error == "yaml: !!binary value contains invalid base64 data"


# -- through the CLI: exit code, stdout and stderr

def _cli(tmp_path, text: str, *args: str):
    from corpus_util import run_stoker

    (tmp_path / "in.bu").write_text(text)
    return run_stoker([*args, "in.bu"], tmp_path)


def test_cli_alias_below_strict_passes(tmp_path):
    run = _cli(tmp_path, HEAD + "passwd: {users: &u [{name: alice}], groups: *u}\n", "--strict")
    assert (run.rc, run.stderr) == (0, "")
    assert json.loads(run.stdout)["passwd"]["groups"] == [{"name": "alice"}]


def test_cli_merge_of_no_mapping(tmp_path):
    run = _cli(tmp_path, HEAD + FILE + "<<: 5\n")
    assert (run.rc, run.stdout, run.stderr) == (
        1, "", "Error translating config: yaml: map merge requires map or sequence of maps as the value\n")


def test_cli_merge_under_an_unknown_key(tmp_path):
    run = _cli(tmp_path, HEAD + "foo: {<<: 5}\n", "--raw-errors")
    assert (run.rc, run.stdout, run.stderr) == (
        0, '{"ignition":{"version":"3.3.0"}}\n', "warning at $.foo, line 3 col 1: unused key foo\n")


def test_cli_tag_error(tmp_path):
    run = _cli(tmp_path, HEAD + FILE + "overwrite: !!bool yes\n")
    assert (run.rc, run.stdout, run.stderr) == (
        1, "", "Error translating config: yaml: cannot decode !!str `yes` as a !!bool\n")


def test_two_merge_keys_are_duplicates():
    result = translate(HEAD + "a: &a {name: a}\npasswd:\n  users:\n    - <<: *a\n      <<: *a\n")
    assert result.error == ('yaml: unmarshal errors:\n  line 7: mapping key "<<" already defined '
                            "at line 6")


def test_binary_text_may_be_a_yaml_1_1_boolean():
    # decode.go scalar(): the decoded !!binary is a string, and a bool takes its words
    result = translate(HEAD + FILE + "contents: {inline: x}\n      overwrite: !!binary eWVz\n")
    assert json.loads(result.to_json())["storage"]["files"][0]["overwrite"] is True


def test_an_alias_key_is_its_anchors_name_in_the_tree():
    # yaml.v3: an alias key is no duplicate of a scalar key; vcontext keys it by
    # the anchor's name, once
    result = translate(HEAD + "&a a: b\n*a : c\n")
    assert result.ok and warnings(result) == ["warning at $.a, line 3 col 1: unused key a"]


def test_cli_a_value_cut_inside_a_character_prints_its_bytes(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    stoker = Path(sys.executable).with_name("stoker")
    if not stoker.exists():
        pytest.skip(f"{stoker} is not installed")
    (tmp_path / "in.bu").write_text(HEAD + FILE + "mode: " + "é" * 6 + "\n")
    run = subprocess.run([str(stoker), "butane", "in.bu"], cwd=tmp_path, capture_output=True)
    assert (run.returncode, run.stdout) == (1, b"")
    assert run.stderr == (b"Error translating config: yaml: unmarshal errors:\n  line 6: cannot "
                          b"unmarshal !!str `\xc3\xa9\xc3\xa9\xc3\xa9\xc3...` into int\n")


@pytest.mark.skipif(not getattr(__import__("yaml"), "__with_libyaml__", False),
                    reason="PyYAML without libyaml")
def test_a_document_with_aliases_is_scanned_by_libyaml():
    # libyaml (as yaml.v3) takes a tab after a value; PyYAML's own scanner does not
    result = translate(HEAD + "a: 1\t\nb: &x core\npasswd: {users: [{name: *x}]}\n")
    assert json.loads(result.to_json())["passwd"]["users"] == [{"name": "core"}]


@pytest.mark.parametrize("body, value", [("a: b\\tc", "b\tc"), ("a:\\tb", "b"), ("a: b\\n \\tc", "b c"),
                                         ("a: 1\\t", "1"), ("a: [1,\\t2]", None)])
def test_the_pure_loader_reads_tabs_as_libyaml(body, value):
    from stoker.butane import source

    text = body.encode().decode("unicode_escape") + "\n"
    node = source._compose_python(text)
    got = node.value[0][1]
    assert got.value == value if value is not None else [n.value for n in got.value] == ["1", "2"]


def test_a_tab_before_a_continuation_lines_indentation():
    assert translate(HEAD + "a:\n  b\n\tc\n").error == (
        UNMARSHAL + "yaml: line 4: found a tab character that violates indentation")


@pytest.mark.parametrize("body", ["a: |\n\tb\n", "a: |\n  b\n\tc\n", "a: |2\n \tb\n"])
def test_a_tab_in_a_block_scalars_indentation(body):
    assert translate(HEAD + body).error == (
        UNMARSHAL + "yaml: line 3: found a tab character where an indentation space is expected")


def test_a_tab_after_a_block_scalars_indentation_is_text():
    result = translate(HEAD + "passwd: {users: [{name: a}]}\nstorage:\n  files:\n    - path: /a\n"
                       "      contents:\n        inline: |\n          b\n          \tc\n")
    assert json.loads(result.to_json())["storage"]["files"][0]["contents"]["source"] == \
        "data:,b%0A%09c%0A"


# libyaml's reader decodes 512 bytes at a time, as the scanner needs them: a syntax
# error in an earlier read comes first, and bytes past the first document's end
# may never be read
_PAD = b"# " + b"x" * 600 + b"\n"


@pytest.mark.parametrize("data, error", [
    (HEAD.encode() + b"a: b: c\n" + _PAD + b"b: \xff\n",
     UNMARSHAL + "yaml: line 3: mapping values are not allowed in this context"),
    (HEAD.encode() + b"a: b: c\n\xff\n", UNMARSHAL + "yaml: invalid leading UTF-8 octet"),
    (HEAD.encode() + _PAD + b"b: \xff\n", UNMARSHAL + "yaml: invalid leading UTF-8 octet"),
    (HEAD.encode() + b"a: b: c\n" + _PAD + b"\x01\xff", UNMARSHAL + "yaml: line 3: mapping values "
     "are not allowed in this context"),
    (HEAD.encode() + b"a: \x01 \xff\n", UNMARSHAL + "yaml: control characters are not allowed"),
])
def test_what_libyamls_reader_meets_first(data, error):
    assert translate(data).error == error


def test_bad_bytes_after_the_first_document_are_never_read():
    result = translate(HEAD.encode() + b"---\n" + _PAD + b"b: \xff\n")
    assert result.ok and result.to_json() == '{"ignition":{"version":"3.3.0"}}'


def test_a_control_character_in_a_later_read_comes_after_a_syntax_error():
    text = HEAD + "a: b: c\n" + _PAD.decode() + "\x01\n"
    assert translate(text).error == (UNMARSHAL + "yaml: line 3: mapping values are not allowed "
                                     "in this context")
    assert translate(HEAD + "---\n" + _PAD.decode() + "\x01\n").ok

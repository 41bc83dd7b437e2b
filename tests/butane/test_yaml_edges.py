"""yaml.v3's semantics at the edges where PyYAML reads differently (issue
"Butane complete", point 2): one input per kind, with the official result
as the issue records it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.butane import translate

HEAD = "variant: fcos\nversion: 1.4.0\n"
MISMATCH = ("context tree does not match content tree at {}. Line and column reporting may be inconsistent. "
            "Unused keys may not be reported")


def _messages(result) -> list[tuple[str, tuple, str]]:
    return [(e.kind, tuple(e.path), e.message) for e in result.report.entries]


@pytest.mark.parametrize("body,path", [
    ("storage:\n", ("storage",)),
    ("storage:\n  # only a comment\n", ("storage",)),
    ("passwd:\n", ("passwd",)),
    ("storage:\n  files:\n    - path: /etc/a\n      contents:\n", ("storage", "files", 0, "contents")),
])
def test_a_key_without_a_value_where_a_mapping_is_expected_warns_and_fails_strict(body, path):
    result = translate(HEAD + body)
    where = "$" + "".join(f".{p}" for p in path)
    assert ("warning", path, MISMATCH.format(where)) in _messages(result)
    assert result.ok
    assert not translate(HEAD + body, strict=True).ok


@pytest.mark.parametrize("users", ["users:\n    -\n    - name: core\n", "users: [~, {name: core}]\n"])
def test_a_null_item_of_a_list_of_objects_is_dropped_with_the_warning(users):
    result = translate(HEAD + "passwd:\n  " + users)
    assert json.loads(result.to_json())["passwd"] == {"users": [{"name": "core"}]}
    assert ("warning", ("passwd", "users", 0), MISMATCH.format("$.passwd.users.0")) in _messages(result)


def test_a_null_item_of_a_list_of_strings_is_dropped():
    result = translate(HEAD + "passwd:\n  users:\n    - name: core\n      groups: [wheel, ~, sudo]\n")
    assert json.loads(result.to_json())["passwd"]["users"][0]["groups"] == ["wheel", "sudo"]


def test_a_null_name_is_the_empty_string_go_marshals():
    result = translate(HEAD + "passwd:\n  users: [{name: ~}]\n")
    assert result.to_json() == '{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":""}]}}'


def test_binary_scalars_are_decoded_into_strings():
    result = translate(HEAD + "storage:\n  files:\n    - path: /etc/a\n      contents:\n"
                              "        inline: !!binary aGVsbG8=\n")
    assert json.loads(result.to_json())["storage"]["files"][0]["contents"]["source"] == "data:,hello"


@pytest.mark.parametrize("body,error", [
    ('storage:\n  files:\n    - path: "\\/etc\\/a"\n', "yaml: line 5: found unknown escape character"),
    ('storage:\n  files:\n    - path: /etc/a\n      contents:\n        inline: "\\ud83d\\ude00"\n',
     "yaml: line 7: found invalid Unicode character escape code"),
])
def test_double_quoted_escapes_follow_yaml_v3s_set(body, error):
    result = translate(HEAD + body)
    assert not result.ok and result.error == f"Error unmarshaling yaml: {error}"


@pytest.mark.parametrize("text,error", [
    # found by the property tests (a mutated config): PyYAML's chr() raised
    (HEAD + 'storage:\n  files:\n    - path: /etc/a\n      contents:\n        inline: "\\U00110000"\n',
     "yaml: line 7: found invalid Unicode character escape code"),
    (HEAD + 'a: "x\\UFFFFFFFF"\n', "yaml: line 3: found invalid Unicode character escape code"),
    # met where the scanner meets it: before a later syntax error
    (HEAD + 'a: "\\uD800"\nb: [\n', "yaml: line 3: found invalid Unicode character escape code"),
    (HEAD + 'a: "\\/"\nb: [\n', "yaml: line 3: found unknown escape character"),
    (HEAD + 'a: "\\q \\uD800"\n', "yaml: line 3: found unknown escape character"),
    # a scalar on the first line: no line (decode.go parser.fail), unless the escape is
    # on a later one (the problem mark's line)
    ('{"variant": "\\uD800"}\n', "yaml: found invalid Unicode character escape code"),
    ('{"variant": "\\/"}\n', "yaml: found unknown escape character"),
    ('{"variant": "a\n  \\U00110000"}\n', "yaml: line 2: found invalid Unicode character escape code"),
])
def test_escape_errors_are_yaml_v3s_where_its_scanner_meets_them(text, error):
    """yaml.v3 v3.0.1 scannerc.go yaml_parser_scan_flow_scalar: a \\u or \\U code that is a
    UTF-16 surrogate or beyond U+10FFFF, and an escape outside its set, are scanner
    errors with the scalar's start as context mark and the escape as problem mark."""
    result = translate(text)
    assert not result.ok and result.error == f"Error unmarshaling yaml: {error}"


def test_an_escaped_single_quote_is_a_quote():
    # yaml.v3's escape set has \' (scannerc.go); PyYAML's has not
    result = translate(HEAD + 'storage:\n  files:\n    - path: "/etc/it\\\'s"\n')
    assert result.ok, result.error
    assert json.loads(result.to_json())["storage"]["files"][0]["path"] == "/etc/it's"


# yaml.v3 v3.0.1's double-quoted escapes (scannerc.go yaml_parser_scan_flow_scalar)
V3_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
              "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "'": "'", "\\": "\\",
              "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.text(st.sampled_from("abc XYZ09é-"), min_size=1, max_size=4).map(lambda t: ("text", t)),
    st.sampled_from(sorted(V3_ESCAPES)).map(lambda c: ("escape", c)),
    st.sampled_from(list("/qzZ1(")).map(lambda c: ("unknown", c)),
    st.tuples(st.sampled_from([("x", 2), ("u", 4), ("U", 8)]), st.one_of(
        st.integers(0, 0xFF), st.integers(0xD7F0, 0xE010), st.integers(0, 0x10FFFF),
        st.integers(0x10FFF0, 0x110010), st.integers(0, 0xFFFFFFFF))).map(lambda t: ("code",) + t),
), max_size=8))
def test_double_quoted_escapes_read_as_yaml_v3_reads_them(pieces):
    """Any mix of text, escapes and codes in a double-quoted gecos: yaml.v3's value,
    or its error at the first escape it refuses."""
    source, value, error = "", "", None
    for piece in pieces:
        if piece[0] == "text":
            source += piece[1]
            value += piece[1]
        elif piece[0] == "escape":
            source += "\\" + piece[1]
            value += V3_ESCAPES[piece[1]]
        elif piece[0] == "unknown":
            source += "\\" + piece[1]
            error = error or "found unknown escape character"
        else:
            letter, width = piece[1]
            code = piece[2] & ((1 << 4 * width) - 1)
            source += f"\\{letter}{code:0{width}X}"
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                error = error or "found invalid Unicode character escape code"
            else:
                value += chr(code)
    result = translate(HEAD + f'passwd:\n  users:\n    - name: a\n      gecos: "{source}"\n')
    if error:
        assert result.error == f"Error unmarshaling yaml: yaml: line 6: {error}"
    else:
        assert result.ok, result.error
        assert json.loads(result.to_json())["passwd"]["users"][0]["gecos"] == value


def test_an_escaped_backslash_before_a_slash_is_fine():
    result = translate(HEAD + 'storage:\n  files:\n    - path: "/etc/a\\\\/b"\n')
    assert result.ok and json.loads(result.to_json())["storage"]["files"][0]["path"] == "/etc/a\\/b"


@pytest.mark.parametrize("directive,ok", [("%YAML 1.2\n---\n", False), ("%YAML 1.1\n---\n", True)])
def test_only_yaml_1_1_documents_are_read(directive, ok):
    result = translate(directive + HEAD)
    assert result.ok == ok
    if not ok:
        assert result.error == "Error unmarshaling yaml: yaml: found incompatible YAML document"


def test_an_inline_child_configs_problems_are_at_the_childs_own_paths():
    child = '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"etc/a"}]},"bogus":1}'
    result = translate(HEAD + f"ignition:\n  config:\n    merge:\n      - inline: '{child}'\n")
    assert not result.ok and result.error == "source config is invalid"
    entries = [(e.kind, tuple(e.path), e.message, e.line, e.column) for e in result.report.entries]
    assert ("error", ("storage", "files", 0, "path"), "path not absolute", 1, 1) in entries
    assert ("warning", ("bogus",), "unused key bogus", 1, 1) in entries


@pytest.mark.parametrize("text,uid", [
    ("-9.3e18", -2 ** 63), ("-1e300", -2 ** 63), ("-.inf", -2 ** 63), ("9.223372036854775808e18", -2 ** 63),
    ("4.7", 4), ("-4.7", -4),
])
def test_a_float_into_an_int_field_is_converted_as_go_converts_it(text, uid):
    """Review fault: stoker refused negative out-of-range floats. yaml.v3 checks only
    `resolved <= math.MaxInt64` (decode.go), then int64(f) truncates; out of range, amd64 gives
    MinInt64 (the official tool's platform)."""
    from stoker.butane import translate
    result = translate(f"variant: fcos\nversion: 1.5.0\npasswd:\n  users:\n    - name: u\n      uid: {text}\n")
    assert result.ok, [e.message for e in result.report]
    assert result.config["passwd"]["users"][0]["uid"] == uid


def test_a_negative_infinite_mode_is_an_illegal_file_mode_not_an_unmarshal_error():
    from stoker.butane import translate
    result = translate("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /a\n      mode: -.inf\n")
    assert [(".".join(map(str, e.path)), e.message) for e in result.report] == [
        ("storage.files.0.mode", "illegal file mode")]

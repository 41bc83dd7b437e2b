"""Compare with the real Ignition: Debian's ignition-validate (2.14, specs 3.0.0 to 3.3.0).

Skipped where the tool is not installed (.ci/apt-packages installs it in CI).

Ignition 2.14 differs from v2.26.0, the Ignition Butane v0.29.0 vendors and
stoker follows (both read from their config/ trees):
  - rules added since 2.14, in every spec: hard-link owner warnings,
    filesystem-over-disk warnings, systemd path conflicts, and the warning for
    an enabled instance of a template unit without [Install];
  - wording: "Unused key X" (2.26: "unused key X"), the special-bits warning
    ("... older than 3.4.0"), a final period after "Unused keys may not be reported";
  - 2.14 rejects specs 3.4.0 and later as "unsupported config version".
Both report a partition label with a colon as an error, and so does stoker.

Two entry points are compared: validate(config, version), whose order puts
duplicates first as Butane does (the comparison moves them likewise), and
validate_document, which keeps Ignition's order and positions. Where
validate_document deliberately goes further (every type error, not the first;
keys below a case-insensitively matched key), the comparison takes the part
Ignition reports.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ignition_random_configs import RandomConfigs
from stoker.ignition import validate, validate_document
from stoker.report import format_path

TOOL = shutil.which("ignition-validate")
pytestmark = pytest.mark.skipif(TOOL is None, reason="ignition-validate is not installed")
DATA = Path(__file__).parent / "data"


def v33(**sections):
    return {"ignition": {"version": "3.3.0", **sections.pop("ignition", {})}, **sections}


CONFIGS = {
    "corpus-09": json.loads((DATA / "09-boot-mirror-ppc64le-v1_4" / "plain.stdout").read_text()),
    "corpus-12": json.loads((DATA / "12-ignition-section-v1_4" / "plain.stdout").read_text()),
    "nodes": v33(storage={
        "files": [{"path": "rel", "mode": 0o4755, "overwrite": True, "group": {"id": 1, "name": "g"}},
                  {"path": "/etc/../x", "contents": {"source": "ftp://x", "compression": "xz"}},
                  {"path": "/l/f"}, {"path": "rel"}],
        "directories": [{"path": "/d/"}],
        "links": [{"path": "/l", "target": "/d"}, {"path": "/m"}, {"path": "/h", "target": "/d/", "hard": True}]}),
    "resources": v33(storage={"files": [
        {"path": "/a", "contents": {"source": "http://x", "verification": {"hash": "sha512-12"}}},
        {"path": "/b", "contents": {"verification": {"hash": "sha256"}}},
        {"path": "/c", "contents": {"source": "tftp://x", "httpHeaders": [{"name": "", "value": "v"}]}},
        {"path": "/d", "contents": {"source": "s3://b/k?versionId="}},
        {"path": "/e", "contents": {"source": "data:text,x"}},
        {"path": "/f", "contents": {"source": "data:;base64,YQ"}},
        {"path": "/g", "contents": {"source": "http://h:port/"}},
        {"path": "/h", "contents": {"source": "arn:aws:s3:::b/k"}},
        {"path": "/i", "contents": {"source": "https://x", "httpHeaders": [
            {"name": "a", "value": ""}, {"name": "b"}, {"name": "c", "value": "x\ny"}]}}]}),
    "url-and-data-url-parsing": v33(storage={"files": [
        {"path": f"/u{i}", "contents": {"source": source}} for i, source in enumerate([
            "data:nocomma", "data:,x", "data:text/plain", "data:;base64,@@@", "data:;base64,YQ", "data:text,x",
            "data:;foo,x", "data:;foo=bar,x", "data:a/b;c,x", "data:,%zz", "data:,%", "data:base64,x",
            " data:,x", "data:/b,x", "data:a/,x", "data:,a b", "data:;charset=,x", "data:", "data:a/b",
            "data:text/p", "data:a/b;x=y", "data:;x", "data:;x=", "data:;x=y", "data:;=y,x", "data:;x==,x",
            "data:a/b;base64", "data:;", "data:;tftp://", "data:%zzobject/base64%41[",
            "data:;base64,YWI=", "data:;base64,YW=I", "data:text/plain;charset=utf-8;base64,YQ==",
            "http://[::1", "http://h:port/", "http://us er@h/", "x:y", ":x", "http://x/%zz", "HTTPS://%41",
            "tftp://,%41object/", "gs://&%zz%2@", "https://%25x/", "s3://b/k?versionId=", "s3://b/k?versionId=1",
            "rel/x", "", "http://h/a b", "http://h/\u0001"])]}),
    "ignition-section": v33(ignition={
        "config": {"merge": [{}, {"source": "https://x"}, {"source": "https://x"}]},
        "proxy": {"httpProxy": "ftp://p", "httpsProxy": "http://p", "noProxy": ["a", "a"]},
        "security": {"tls": {"certificateAuthorities": [{"compression": ""}]}}}),
    "disks": v33(storage={"disks": [
        {"device": ""},
        {"device": "/dev/vda", "partitions": [
            {"number": 1, "startMiB": 10, "sizeMiB": 10}, {"number": 2, "startMiB": 15, "sizeMiB": 10},
            {"label": "x" * 37, "guid": "g"}, {"number": 4, "shouldExist": False, "label": "q"},
            {"label": "x" * 37}]},
        {"device": "/dev/vdb", "partitions": [{}]}]}),
    "filesystems-raid-luks": v33(storage={
        "filesystems": [{"device": "", "label": "x"}, {"device": "/p", "format": "ext4", "path": ""}, {"device": "rel", "format": "ntfs"},
                        {"device": "/a", "format": "xfs", "label": "x" * 13, "path": "rel"}],
        "raid": [{"name": "a", "level": "raid0", "spares": 1, "devices": ["/x", "/x", "rel"]},
                 {"name": "b", "level": "raid7"}],
        "luks": [{"name": "a/b", "label": "x" * 48, "keyFile": {"source": "ftp://x"},
                  "clevis": {"custom": {"pin": "foo"}, "tpm2": True, "tang": [{"url": "ftp://x"}]}},
                 {"name": "c", "device": "rel", "clevis": {"custom": {"needsNetwork": True}}}]}),
    "systemd": v33(systemd={"units": [
        {"name": "a.service", "enabled": True, "contents": "[Service]\nExecStart=/x\n"},
        {"name": "b", "dropins": [{"name": "x"}, {"name": "y.conf", "contents": "[x"}]},
        {"name": "c.service", "contents": "[Service]\nfoo\n"},
        {"name": "d.service", "contents": "[Service] x\n"},
        {"name": "e.service", "enabled": True, "contents": "[Install]\n"},
        {"name": "f.service", "enabled": True, "contents": "[Unit]\n[Install]\nWantedBy=x\n"}]}),
    "passwd-kargs": v33(passwd={"users": [{"name": "a", "sshAuthorizedKeys": ["k", "k"], "groups": ["g", "g"]},
                                          {"name": "a"}]},
                        kernelArguments={"shouldExist": ["a"], "shouldNotExist": ["a"]}),
}

LINE = re.compile(r"^(error|warning|info) at (\S+?)(?:, line \d+ col \d+)?: (.*)$")


def run_tool(config, tmp_path):
    target = tmp_path / "config.ign"
    target.write_text(json.dumps(config))
    result = subprocess.run([TOOL, str(target)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    found = []
    for line in (result.stdout + result.stderr).splitlines():
        match = LINE.match(line)
        if match:
            message = match[3].replace("are not supported in spec versions older than 3.4.0",
                                       "are not supported or functional in spec versions older than 3.6.0")
            found.append((match[1], match[2], message))
    duplicates = [e for e in found if e[2] == "duplicate entry defined"]
    return result.returncode, duplicates + [e for e in found if e not in duplicates]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_verdict_and_entries_as_ignition_validate(name, tmp_path):
    config = CONFIGS[name]
    returncode, theirs = run_tool(config, tmp_path)
    ours = [(e.kind, format_path(e.path), e.message) for e in validate(config, "3.3.0")]
    assert (returncode == 0) == (not any(kind == "error" for kind, _, _ in ours))
    assert ours == theirs


# Rules that the Ignition vendored by Butane v0.29 has and Ignition 2.14 lacks.
NEWER_RULES = ("filesystem overwrites partitioned device", "device matches disk with wipeTable enabled",
               "user/group ignored for hard link", "path conflicts with systemd unit or dropin",
               "template unit ")


def comparable(found):
    # validate() checks a config, not a document: it has no unused-key warnings
    return [entry for entry in found if not entry[2].startswith(NEWER_RULES + ("Unused key",))]


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0", "3.2.0", "3.3.0"])
@pytest.mark.parametrize("seed", range(4))
def test_random_configs_match_ignition_validate(seed, version, tmp_path):
    generator = RandomConfigs(seed, version)
    for _ in range(40):
        config = generator.config()
        _, theirs = run_tool(config, tmp_path)
        ours = [(e.kind, format_path(e.path), e.message) for e in validate(config, version)]
        assert comparable(ours) == comparable(theirs), json.dumps(config)


# -- whole documents: validate_document against the tool's full report --

REPORT_LINE = re.compile(r"^(error|warning|info) at (?:(\$\S*?)(?:, |(?=:)))?(?:line (\d+) col (\d+))?: (.*)$")


def tool_report(text, tmp_path):
    """(exit code, [(kind, path or None, message, line, column)]) with 2.14's wording brought up to date."""
    target = tmp_path / "config.ign"
    target.write_bytes(text.encode() if isinstance(text, str) else text)
    result = subprocess.run([TOOL, str(target)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    found = []
    for line in (result.stdout + result.stderr).splitlines():
        match = REPORT_LINE.match(line)
        if match:
            message = (match[5].replace("Unused key ", "unused key ")
                       .replace("are not supported in spec versions older than 3.4.0",
                                "are not supported or functional in spec versions older than 3.6.0"))
            if message.startswith("context tree does not match"):
                message = message.rstrip(".")
            found.append((match[1], match[2], message, int(match[3] or 0), int(match[4] or 0)))
        elif line.startswith("couldn't parse config: "):
            found.append(("error", None, line.removeprefix("couldn't parse config: "), 0, 0))
    return result.returncode, found


def _value_at(config, path):
    node = config
    for part in path:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) \
                and part < len(node):
            node = node[part]
        else:
            break
    return node


def document_report(text):
    """validate_document's entries in the tool's terms: go-json marks an object or array one byte past its
    opening brace, where stoker points at the brace."""
    result = validate_document(text)
    found = []
    for e in result.entries:
        column = e.column
        if not e.message.startswith("unused key") and isinstance(_value_at(result.config, e.path), (dict, list)):
            column += 1
        found.append((e.kind, format_path(e.path), e.message, e.line, column))
    return result, found


def split(found):
    """Entries to compare in order, and unused-key warnings (Go reports those in map order) as a set."""
    kept = [e for e in found if not e[2].startswith(NEWER_RULES)]
    unused = sorted(e for e in kept if e[2].startswith("unused key"))
    return [e for e in kept if not e[2].startswith("unused key")], unused


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0", "3.2.0", "3.3.0"])
@pytest.mark.parametrize("seed", range(3))
def test_random_documents_match_ignition_validate(seed, version, tmp_path):
    generator = RandomConfigs(100 + seed, version)
    for n in range(30):
        config = generator.config()
        if n % 3 == 1:
            config = generator.add_unknown_keys(config)
        text = json.dumps(config, indent=1 if n % 2 else None)
        returncode, theirs = tool_report(text, tmp_path)
        result, ours = document_report(text)
        assert (returncode == 0) == result.ok, text
        assert split(ours) == split(theirs), text


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0", "3.2.0", "3.3.0"])
def test_type_errors_match_ignition_validate(version, tmp_path):
    generator = RandomConfigs(7, version)
    for _ in range(30):
        text = json.dumps(generator.mutate(generator.config()))
        returncode, theirs = tool_report(text, tmp_path)
        result = validate_document(text)
        if not result.entries or not result.entries[0].message.startswith("json: "):
            # the new value happened to fit (an unknown key's value, say): an ordinary document
            assert split(document_report(text)[1]) == split(theirs), text
            continue
        # Go stops at the first type error, the earliest in the text; stoker lists them all in text order
        assert returncode == 1
        assert [(kind, message) for kind, _, message, _, _ in theirs] == [("error", result.entries[0].message)]


@pytest.mark.parametrize("text", [
    "", "   ", "{x}", '{"a":1,\n  x}', "[1]", '"x"', "null", "{}", '{"ignition":{}}', '{"ignition":"x"}',
    '{"ignition":{"version":3}}', '{"ignition":{"version":"3.0.0+x"}}', '{"ignition":{"version":"03.1.0"}}',
    '{"ignition":{"version":"3.0.0"},"storage":null}', '{"ignition":{"version":"3.0.0"},"storage":{"files":[null]}}',
    '{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a"}]},"storage":{"files":[{"mode":1}]}}',
    '{"ignition":{"version":"3.1.0"},"storage":{"files":[{"path":"/\u00e9\u00e9"},{"path":"a"}]}}',
])
def test_edge_documents_match_ignition_validate(text, tmp_path):
    returncode, theirs = tool_report(text, tmp_path)
    result, ours = document_report(text)
    assert (returncode == 0) == result.ok
    if theirs and theirs[0][1] is None:
        # errors before validation: the tool has no path, and points past the offending byte (or nowhere)
        # stoker adds the versions it knows after Ignition's "unsupported config version"
        assert [(kind, message) for kind, _, message, _, _ in theirs] == \
            [(kind, message.split(" (stoker knows ")[0]) for kind, _, message, _, _ in ours]
    else:
        assert ours == theirs


def test_case_insensitive_keys_against_ignition_validate(tmp_path):
    text = '{"ignition":{"version":"3.0.0"},"Storage":{"files":[{"Path":"a","foo":1}]}}'
    _, theirs = tool_report(text, tmp_path)
    result, ours = document_report(text)
    # Ignition decodes "Storage" and "Path" like stoker and warns about "Storage", but cannot find the
    # objects below it by path: no line for the path error, no warning for "Path" and "foo"
    assert [e[:3] for e in theirs] == [("error", "$.storage.files.0.path", "path not absolute"),
                                        ("warning", "$.Storage", "unused key Storage")]
    assert [e[:3] for e in ours] == [("error", "$.storage.files.0.path", "path not absolute"),
                                      ("warning", "$.Storage", "unused key Storage"),
                                      ("warning", "$.storage.files.0.Path", "unused key Path"),
                                      ("warning", "$.storage.files.0.foo", "unused key foo")]


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0", "3.2.0"])
def test_spec_examples_are_valid_for_ignition_validate(version, tmp_path):
    text = (DATA / "specs" / f"{version}.ign").read_text()
    assert tool_report(text, tmp_path) == (0, [])
    assert validate_document(text).entries == []

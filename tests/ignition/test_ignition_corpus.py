"""The official Butane's outputs validate as the official Ignition said they do.

Every successful corpus case's stdout is a real Ignition config: it must match
its schema and give exactly the Ignition-side warnings the official tool printed.
Cases 12, 13 and 18 are also rebuilt by hand (18 never produced output) and must
yield the Ignition-side entries of their expected stderr, at output paths.
"""

import json
from pathlib import Path

import pytest

from stoker.ignition import check_schema, validate
from stoker.report import ERROR, WARNING, format_path

DATA = Path(__file__).parent / "data"

# Ignition-side entries in each case's expected stderr, converted to output paths.
EXPECTED_IGNITION_ENTRIES = {
    "12-ignition-section-v1_4": [
        (WARNING, "$.ignition.proxy.httpsProxy", "insecure plaintext HTTP proxy specified for HTTPS resources"),
    ],
    "13-warnings-v1_6": [
        (WARNING, "$.storage.directories.0.mode",
         "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"),
        (WARNING, "$.storage.files.0.mode",
         "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"),
        (WARNING, "$.systemd.units.0.contents",
         'unit "noinstall.service" is enabled, but has no install section so enable does nothing'),
    ],
}

SUCCESSFUL_CASES = sorted(p.parent.name for p in DATA.glob("*/plain.stdout"))


def entries(found):
    return [(e.kind, format_path(e.path), e.message) for e in found]


def load_output(case):
    config = json.loads((DATA / case / "plain.stdout").read_text())
    return config, config["ignition"]["version"]


@pytest.mark.parametrize("case", SUCCESSFUL_CASES)
def test_official_output_matches_its_schema(case):
    config, version = load_output(case)
    assert check_schema(config, version) == []


@pytest.mark.parametrize("case", SUCCESSFUL_CASES)
def test_official_output_gives_the_official_ignition_warnings(case):
    config, version = load_output(case)
    assert entries(validate(config, version)) == EXPECTED_IGNITION_ENTRIES.get(case, [])


def test_expected_stderr_really_holds_those_warnings():
    # guards the table above against drifting from the copied corpus files
    for case, expected in EXPECTED_IGNITION_ENTRIES.items():
        stderr = (DATA / case / "rawerrors.stderr").read_text()
        for _kind, _path, message in expected:
            assert message in stderr


CASE_12_REBUILT = {
    "ignition": {
        "config": {"merge": [
            {"httpHeaders": [{"name": "X-Token", "value": "secret"}], "source": "https://example.com/child.ign"},
            {"compression": "", "source": "data:,%7B%22ignition%22%3A%20%7B%22version%22%3A%20%223.3.0%22%7D%7D%0A"},
        ]},
        "proxy": {"httpProxy": "http://proxy.example.com:3128", "httpsProxy": "http://proxy.example.com:3128",
                  "noProxy": ["localhost", "127.0.0.1", ".example.com"]},
        "security": {"tls": {"certificateAuthorities": [{"compression": "", "source": "data:,CA"}]}},
        "timeouts": {"httpResponseHeaders": 20, "httpTotal": 120},
        "version": "3.3.0",
    },
    "kernelArguments": {"shouldExist": ["foo"], "shouldNotExist": ["bar"]},
    "storage": {"filesystems": [{"device": "/dev/vdb", "format": "none", "wipeFilesystem": True}]},
}

CASE_13_REBUILT = {
    "ignition": {"version": "3.5.0"},
    "storage": {
        "directories": [{"path": "/var/decimal-dir", "mode": 755}],
        "disks": [{"device": "/dev/disk/by-id/coreos-boot-disk",
                   "partitions": [{"label": "root", "resize": True, "sizeMiB": 4096}]},
                  {"device": "/dev/vdc", "partitions": [{"label": "data", "sizeMiB": 100}]}],
        "files": [{"path": "/etc/decimal-mode", "contents": {"compression": "", "source": "data:,x"}, "mode": 644}],
        "filesystems": [{"device": "/dev/disk/by-partlabel/data", "format": "ext4", "label": "data:colon"}],
    },
    "systemd": {"units": [{"contents": "[Service]\nExecStart=/usr/bin/true\n", "enabled": True,
                           "name": "noinstall.service"}]},
}

CASE_18_REBUILT = {
    "ignition": {"version": "3.4.0"},
    "storage": {
        "files": [
            {"path": "relative/path", "contents": {"compression": "", "source": "data:,a"}},
            {"path": "/etc/dup", "contents": {"compression": "", "source": "data:,a"}},
            {"path": "/etc/dup", "contents": {"compression": "", "source": "data:,b"}},
            {"path": "/etc/../etc/dirty"},
        ],
        "links": [{"path": "/etc/nolinktarget"}],
    },
    "systemd": {"units": [
        {"contents": "[Service]\nExecStart=/bin/true\n", "name": "bad.unitext"},
        {"dropins": [{"contents": "[Service]\n", "name": "wrong.ext"}], "name": "good.service"},
    ]},
}


def raw_stderr_entries(case):
    """The report lines of a --raw-errors run, as (kind, path, message)."""
    found = []
    for line in (DATA / case / "rawerrors.stderr").read_text().splitlines():
        if " at $" not in line:
            continue
        kind, rest = line.split(" at ", 1)
        where, message = rest.split(": ", 1)
        found.append((kind, where.split(",")[0], message))
    return found


def test_case_12_rebuilt():
    assert entries(validate(CASE_12_REBUILT, "3.3.0")) == EXPECTED_IGNITION_ENTRIES["12-ignition-section-v1_4"]
    assert check_schema(CASE_12_REBUILT, "3.3.0") == []


def test_case_13_rebuilt():
    assert entries(validate(CASE_13_REBUILT, "3.5.0")) == EXPECTED_IGNITION_ENTRIES["13-warnings-v1_6"]


def test_case_18_rebuilt_gives_every_entry_of_the_official_stderr_in_order():
    expected = raw_stderr_entries("18-ignition-validation-v1_5")
    assert len(expected) == 6 and all(kind == ERROR for kind, _, _ in expected)
    # no snake_case keys on these paths, so YAML paths equal the output paths
    assert entries(validate(CASE_18_REBUILT, "3.4.0")) == expected

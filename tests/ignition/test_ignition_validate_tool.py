"""Compare with the real Ignition: Debian's ignition-validate (2.14, spec up to 3.3.0).

Skipped where the tool is not installed (.ci/apt-packages installs it in CI).
Ignition 2.14 predates a few rules the Ignition vendored by Butane v0.29 has
(hard-link owner and filesystem-over-disk warnings, systemd path conflicts, the
colon warning that 2.14 reports as an error, the special-bits wording, and
duplicates reported first); the configs below steer clear of those, and the
comparison normalises the wording and the duplicate order.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ignition_random_configs import RandomConfigs
from stoker.ignition import validate
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


# Rules that the Ignition vendored by Butane v0.29 has and Ignition 2.14 lacks (or words differently).
NEWER_RULES = ("filesystem overwrites partitioned device", "device matches disk with wipeTable enabled",
               "user/group ignored for hard link", "path conflicts with systemd unit or dropin",
               "partition label will be truncated to text before the colon")


def comparable(found):
    return [entry for entry in found if not entry[2].startswith(NEWER_RULES)]


@pytest.mark.parametrize("seed", range(4))
def test_random_configs_match_ignition_validate(seed, tmp_path):
    generator = RandomConfigs(seed)
    for _ in range(40):
        config = generator.config()
        _, theirs = run_tool(config, tmp_path)
        ours = [(e.kind, format_path(e.path), e.message) for e in validate(config, "3.3.0")]
        assert comparable(ours) == comparable(theirs), json.dumps(config)

"""Faults found by the third break-it review, each checked through the CLI.

Every expected stdout, stderr and exit code below came from the official Butane
v0.29.0 (built from the upstream tag) run on the same input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_util import run_stoker

HEAD = "variant: fcos\nversion: 1.5.0\n"


def run_input(tmp_path: Path, text: str | bytes, *args: str):
    src = tmp_path / "in.bu"
    src.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return run_stoker([*args, "in.bu"], tmp_path)


# Fault 1: an inline merge/replace config is decoded into the target spec's types
# first; a missing or unreadable version is an error, not a skipped validation.
# Expected output from the official v0.29.0.
_CHILD_CASES = {
    "{}": (
        "error[$.ignition.version]:\n"
        "  --> in.bu:3:11\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: '{}'}]}}\n"
        "   |           ^^^^^^^^ invalid config version (couldn't parse)\n"
        " 4 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n"),
    '{"ignition":': (
        "error:\n"
        "  --> in.bu:1:1\n"
        "   |\n"
        " 1 | variant: fcos\n"
        "   | ^^^^^^^^ unexpected end of JSON input\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: '{\"ignition\":'}]}}\n"
        "   |\n"
        "\n"
        "error[$.ignition.config.merge.0.inline]:\n"
        "  --> in.bu:3:38\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: '{\"ignition\":'}]}}\n"
        "   |                                      ^^^^^^^^^^^^^^^^^^ config is not valid\n"
        " 4 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n"),
    '{"ignition":{"version":1}}': (
        "error:\n"
        "  --> in.bu:1:1\n"
        "   |\n"
        " 1 | variant: fcos\n"
        "   | ^^^^^^^^ json: cannot unmarshal number into Go struct field Ignition.ignition.version of type string\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: '{\"ignition\":{\"version\":1}}'}]}}\n"
        "   |\n"
        "\n"
        "error[$.ignition.config.merge.0.inline]:\n"
        "  --> in.bu:3:38\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: '{\"ignition\":{\"version\":1}}'}]}}\n"
        "   |                                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ config is not valid\n"
        " 4 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n"),
    "null": (
        "error[$.ignition.version]:\n"
        "  --> in.bu:3:11\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: 'null'}]}}\n"
        "   |           ^^^^^^^^ invalid config version (couldn't parse)\n"
        " 4 | \n"
        "   |\n"
        "\n"
        "warning:\n"
        "  --> in.bu:1:1\n"
        "   |\n"
        " 1 | variant: fcos\n"
        "   | ^^^^^^^^ context tree does not match content tree at $. Line and column reporting "
        "may be inconsistent. Unused keys may not be reported\n"
        " 2 | version: 1.5.0\n"
        " 3 | ignition: {config: {merge: [{inline: 'null'}]}}\n"
        "   |\n"
        "Error translating config: source config is invalid\n"),
}


@pytest.mark.parametrize("child", list(_CHILD_CASES))
def test_fault1_invalid_inline_child_config(tmp_path, child):
    run = run_input(tmp_path, HEAD + "ignition: {config: {merge: [{inline: '%s'}]}}\n" % child)
    assert (run.rc, run.stdout, run.stderr) == (1, "", _CHILD_CASES[child])


# Fault 1 (continued): a type error in the child, even of another version, names the
# embedded structs in its field path as the official v0.29.0 does.
# Expected output from the official v0.29.0.
def test_fault1_child_type_error_embedded_field(tmp_path):
    child = '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/a","mode":"x"}]}}'
    run = run_input(tmp_path, HEAD + "ignition: {config: {merge: [{inline: '%s'}]}}\n" % child)
    line3 = " 3 | ignition: {config: {merge: [{inline: '%s'}]}}\n" % child
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error:\n"
        "  --> in.bu:1:1\n"
        "   |\n"
        " 1 | variant: fcos\n"
        "   | ^^^^^^^^ json: cannot unmarshal string into Go struct field "
        "File.storage.files.FileEmbedded1.mode of type int\n"
        " 2 | version: 1.5.0\n"
        + line3 +
        "   |\n"
        "\n"
        "error[$.ignition.config.merge.0.inline]:\n"
        "  --> in.bu:3:38\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.5.0\n"
        + line3 +
        "   |                                      " + "^" * 85 + " config is not valid\n"
        " 4 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n")


# Fault 2: a quadlet name starting with "/" stays under the quadlet directory (Go's
# path.Join keeps the base). Expected output from the official v0.29.0.
def test_fault2_quadlet_absolute_name(tmp_path):
    run = run_input(tmp_path, 'variant: fcos\nversion: 1.8.0-experimental\nsystemd:\n  quadlets:\n'
                    '    - name: /abs.container\n      contents: "[Container]\\n"\n')
    assert (run.rc, run.stderr) == (0, "")
    assert run.stdout == (
        '{"ignition":{"version":"3.7.0-experimental"},"storage":{"files":[{"path":'
        '"/etc/containers/systemd/users/abs.container","contents":{"compression":"",'
        '"source":"data:,%5BContainer%5D%0A"},"mode":420}]}}\n')


# Fault 3: a local path with a NUL byte is refused as Go's syscalls refuse it (EINVAL),
# and a relative -d in a deleted working directory fails as Go's filepath.Abs does.
# Expected output from the official v0.29.0.
def test_fault3_local_path_with_nul(tmp_path):
    (tmp_path / "files" / "sub").mkdir(parents=True)
    (tmp_path / "files" / "ok.txt").write_text("hi\n")
    run = run_input(tmp_path, HEAD + 'storage:\n  files:\n    - path: /a\n'
                    '      contents: {local: "ok.txt\\u0000"}\n', "-d", "files")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.storage.files.0.contents.local]:\n"
        "  --> in.bu:6:25\n"
        "   |\n"
        " 4 |   files:\n"
        " 5 |     - path: /a\n"
        ' 6 |       contents: {local: "ok.txt\\u0000"}\n'
        "   |                         ^^^^^^^^^^^^^^^ open files/ok.txt\x00: invalid argument\n"
        " 7 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n")
    run = run_input(tmp_path, HEAD + 'storage:\n  trees:\n    - local: "sub\\u0000"\n', "-d", "files")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.storage.trees.0]:\n"
        "  --> in.bu:5:7\n"
        "   |\n"
        " 3 | storage:\n"
        " 4 |   trees:\n"
        ' 5 |     - local: "sub\\u0000"\n'
        "   |       ^^^^^^ stat files/sub\x00: invalid argument\n"
        " 6 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n")


def test_fault3_deleted_working_directory(tmp_path):
    import subprocess
    import sys

    stoker = Path(sys.executable).with_name("stoker")
    src = tmp_path / "e.bu"
    src.write_text(HEAD + "storage:\n  files:\n    - path: /a\n      contents: {local: ok.txt}\n")
    (tmp_path / "gone").mkdir()
    proc = subprocess.run(["sh", "-c", 'rmdir "$PWD" && exec "$0" butane -d files "$1"',
                           str(stoker), str(src)], cwd=tmp_path / "gone", capture_output=True)
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert proc.stderr == (
        "error[$.storage.files.0.contents.local]:\n"
        f"  --> {src}:6:25\n"
        "   |\n"
        " 4 |   files:\n"
        " 5 |     - path: /a\n"
        " 6 |       contents: {local: ok.txt}\n"
        "   |                         ^^^^^^^ getwd: no such file or directory\n"
        " 7 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n").encode()


# Fault 5: each invalid UTF-8 byte of a local file is written as the escape \ufffd,
# as Go's encoding/json writes it. Expected output from the official v0.29.0.
def test_fault5_invalid_utf8_escaped(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "u").write_bytes(b"Description=\xe9t\xe9\n")
    (tmp_path / "files" / "k").write_bytes(b"ssh-rsa AAA\xe9 x\n")
    run = run_input(tmp_path, HEAD + "systemd:\n  units:\n    - name: a.service\n"
                    "      contents_local: u\npasswd:\n  users:\n    - name: core\n"
                    "      ssh_authorized_keys_local: [k]\n", "-d", "files")
    assert (run.rc, run.stderr) == (0, "")
    assert run.stdout == (
        '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":'
        '["ssh-rsa AAA\\ufffd x"]}]},"systemd":{"units":[{"contents":"Description=\\ufffdt\\ufffd\\n",'
        '"name":"a.service"}]}}\n')


# Fault 6: Ignition 3.0.0's ConfigReference.Source is a *string without omitempty:
# every written merge/replace entry carries "source":null when it has none.
# Expected output from the official v0.29.0.
_UNUSED_LOCAL = (
    "warning[$.ignition.config.merge.0.local]:\n"
    "  --> in.bu:3:30\n"
    "   |\n"
    " 1 | variant: fcos\n"
    " 2 | version: 1.0.0\n"
    " 3 | ignition: {config: {merge: [{local: x}]}}\n"
    "   |                              ^^^^^^ unused key local\n"
    " 4 | \n"
    "   |\n")


@pytest.mark.parametrize("config, expected", [
    ("merge: [{}]", '{"ignition":{"config":{"merge":[{"source":null}]},"version":"3.0.0"}}\n'),
    ("merge: [{local: x}]", '{"ignition":{"config":{"merge":[{"source":null}]},"version":"3.0.0"}}\n'),
    ("replace: {verification: {hash: sha512-" + "a" * 128 + "}}",
     '{"ignition":{"config":{"replace":{"source":null,"verification":{"hash":"sha512-' + "a" * 128
     + '"}}},"version":"3.0.0"}}\n'),
    ("replace: {}", '{"ignition":{"version":"3.0.0"}}\n'),
])
def test_fault6_fcos_1_0_source_null(tmp_path, config, expected):
    run = run_input(tmp_path, "variant: fcos\nversion: 1.0.0\nignition: {config: {%s}}\n" % config)
    assert (run.rc, run.stdout) == (0, expected)
    assert run.stderr == (_UNUSED_LOCAL if "local" in config else "")


# Fault 8: a fatal error of the base translation ends the translation before the
# fcos parts, so no partition warnings follow it. Expected output from the official v0.29.0.
def test_fault8_no_partition_warnings_after_fatal_error(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  disks:\n    - device: /dev/sdb\n      partitions:\n"
                    "        - label: root\n          size_mib: 4096\n  files:\n    - path: /a\n"
                    "      contents: {local: a}\n")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.storage.files.0.contents.local]:\n"
        "  --> in.bu:11:25\n"
        "    |\n"
        "  9 |   files:\n"
        " 10 |     - path: /a\n"
        " 11 |       contents: {local: a}\n"
        "    |                         ^^ local file paths are relative to a files directory "
        "that must be specified with -d/--files-dir\n"
        " 12 | \n"
        "    |\n"
        "Error translating config: source config is invalid\n")


# Fault 7: from level 1.5 (openshift 4.14+) the grub step always merges, and a zero
# non-pointer leaf (an empty path) keeps no mapping: the error is reported below
# spec.config at line 1 col 1. Expected output from the official v0.29.0.
def test_fault7_openshift_empty_path_unmapped(tmp_path):
    run = run_input(tmp_path, "variant: openshift\nversion: 4.16.0\nmetadata: {name: a, labels: "
                    "{machineconfiguration.openshift.io/role: worker}}\nstorage: {files: [{path: \"\"}]}\n")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.spec.config.storage.files.0.path]:\n"
        "  --> in.bu:1:1\n"
        "   |\n"
        " 1 | variant: openshift\n"
        "   | ^^^^^^^^ path not specified\n"
        " 2 | version: 4.16.0\n"
        " 3 | metadata: {name: a, labels: {machineconfiguration.openshift.io/role: worker}}\n"
        "   |\n"
        "Error translating config: config generated was invalid\n")


# Fault 10: the files directory is made absolute and cleaned as Go's filepath.Abs does
# ("//dir" is "/dir"; with "/" every other path is outside it). Expected output from the
# official v0.29.0.
def test_fault10_files_dir_double_slash(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "ok.txt").write_text("ok\n")
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n    - path: /a\n      contents: {local: /ok.txt}\n",
                    "-d", "/" + str(tmp_path / "files"))
    assert (run.rc, run.stderr) == (0, "")
    assert run.stdout == ('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/a","contents":'
                          '{"compression":"","source":"data:,ok%0A"}}]}}\n')


def test_fault10_files_dir_root(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n    - path: /a\n      contents: {local: etc/hostname}\n",
                    "-d", "/")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.storage.files.0.contents.local]:\n"
        "  --> in.bu:6:25\n"
        "   |\n"
        " 4 |   files:\n"
        " 5 |     - path: /a\n"
        " 6 |       contents: {local: etc/hostname}\n"
        "   |                         ^^^^^^^^^^^^^ local file path traverses outside the files directory\n"
        " 7 | \n"
        "   |\n"
        "Error translating config: source config is invalid\n")


# Fault 12: `-o file/` on an existing file fails as Go's open with O_CREATE does
# (EISDIR). Expected output from the official v0.29.0.
def test_fault12_output_trailing_slash_on_file(tmp_path):
    run = run_input(tmp_path, HEAD, "-o", "in.bu/")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == "failed to open in.bu/: open in.bu/: is a directory\n"


# Fault 9: a tree subdirectory that cannot be read is reported as Go's filepath.Walk
# reports it (`open DIR: …`), and the walk goes on. Expected output from the official
# v0.29.0 run as an unprivileged user on a mode-000 `locked` directory; here (maybe
# as root) reading that directory is refused by a stand-in for os.listdir.
def test_fault9_unreadable_tree_subdirectory(tmp_path, monkeypatch):
    import os

    tree = tmp_path / "files" / "t"
    (tree / "locked").mkdir(parents=True)
    (tree / "b").mkdir()
    (tree / "a.txt").write_text("a\n")
    (tree / "b" / "c").write_text("c\n")
    (tree / "locked" / "x").write_text("in\n")
    os.mkfifo(tree / "zfifo")
    listdir = os.listdir

    def refusing(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", refusing)
    run = run_input(tmp_path, HEAD + "storage:\n  trees:\n    - local: t\n", "-d", "files")
    assert (run.rc, run.stdout) == (1, "")
    assert run.stderr == (
        "error[$.storage.trees.0]:\n  --> in.bu:5:7\n   |\n 3 | storage:\n 4 |   trees:\n"
        " 5 |     - local: t\n   |       ^^^^^^ open files/t/locked: permission denied\n 6 | \n   |\n"
        "\n"
        "error[$.storage.trees.0]:\n  --> in.bu:5:7\n   |\n 3 | storage:\n 4 |   trees:\n"
        " 5 |     - local: t\n   |       ^^^^^^ trees may only contain files, directories, and symlinks\n"
        " 6 | \n   |\n"
        "Error translating config: source config is invalid\n")


# Fault 4: standard streams the caller closed are opened on /dev/null, as the Go
# runtime does. Expected output from the official v0.29.0 (`< /tmp`, a directory on
# standard input, stays different: Python stops before stoker's code runs).
_W_BU = HEAD + "storage: {files: [{path: /a, mode: 644}]}\n"
_W_OUT = '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/a","mode":644}]}}\n'
_W_ERR = (
    "warning[$.storage.files.0.mode]:\n  --> w.bu:3:36\n   |\n 1 | variant: fcos\n"
    " 2 | version: 1.5.0\n 3 | storage: {files: [{path: /a, mode: 644}]}\n"
    "   |                                    ^^^^^^ unreasonable mode would be reasonable if "
    "specified in octal; remember to add a leading zero\n 4 | \n   |\n\n"
    "warning[$.storage.files.0.mode]:\n  --> w.bu:3:36\n   |\n 1 | variant: fcos\n"
    " 2 | version: 1.5.0\n 3 | storage: {files: [{path: /a, mode: 644}]}\n"
    "   |                                    ^^^^^^ setuid/setgid/sticky bits are not supported "
    "or functional in spec versions older than 3.6.0\n 4 | \n   |\n")


@pytest.mark.parametrize("closing, args, rc, stdout, stderr", [
    ("2>&-", "w.bu", 0, _W_OUT, ""),
    (">&-", "w.bu", 0, "", _W_ERR),
    ("<&-", "w.bu", 0, _W_OUT, _W_ERR),
    ("<&-", "", 1, "", "Error translating config: error parsing variant; must be specified\n"),
])
def test_fault4_closed_standard_streams(tmp_path, closing, args, rc, stdout, stderr):
    import subprocess
    import sys

    stoker = Path(sys.executable).with_name("stoker")
    (tmp_path / "w.bu").write_text(_W_BU)
    (tmp_path / "out").touch()
    (tmp_path / "err").touch()
    # the closing redirection comes last, after the ones that capture the other streams
    script = f'"$0" butane {args} >out 2>err {closing}; echo $? >rc'
    subprocess.run(["sh", "-c", script, str(stoker)], cwd=tmp_path, check=True,
                   stdin=subprocess.DEVNULL)
    result = (int((tmp_path / "rc").read_text()), (tmp_path / "out").read_text(),
              (tmp_path / "err").read_text())
    expected_out = "" if closing == ">&-" else stdout
    expected_err = "" if closing == "2>&-" else stderr
    assert result == (rc, expected_out, expected_err)


def test_fault11_large_barely_compressible_file_does_not_run_goflate(tmp_path, monkeypatch):
    """Review 10c, fault 11: a 1 MB file that zlib barely shrinks (already
    compressed data) took about 8 s per MB in goflate. Above GOFLATE_MAX_BYTES
    zlib's length decides alone; the file's contents are intact either way."""
    import base64
    import gzip
    import os
    import zlib

    from stoker.butane import goflate, resources, translate

    def refuse(data):
        raise AssertionError("goflate ran on a file over GOFLATE_MAX_BYTES")
    monkeypatch.setattr(goflate, "gzip_bytes", refuse)
    # random bytes, deflated: nearly incompressible, then a compressible tail so
    # that zlib's gzip is a little shorter (inside goflate's margin)
    blob = zlib.compress(os.urandom(900_000), 9) + b"a" * 60_000
    assert len(blob) > resources.GOFLATE_MAX_BYTES
    (tmp_path / "blob").write_bytes(blob)
    result = translate("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /opt/blob\n"
                       "      contents:\n        local: blob\n", files_dir=str(tmp_path))
    assert result.ok
    contents = result.config["storage"]["files"][0]["contents"]
    payload = base64.b64decode(contents["source"].partition(",")[2])
    assert (gzip.decompress(payload) if contents.get("compression") == "gzip" else payload) == blob

"""Error paths of `stoker butane`, through the real CLI.

Each failure must exit with 1, say what is wrong and where (line and column, the
YAML path, or the file name when there is no document to point into), never show
a Python traceback, and never write the -o file. Most cases run in-process
(stoker.cli.main with captured stdout and stderr); a few run `.venv/bin/stoker` as a
subprocess so the real entry point, exit code and stderr are checked too.

Where the official tool prints no position (SPEC §0.2: the variant and version
checks, an empty input), the test asserts the official message, which names the key.
"""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from stoker.butane import translate
from stoker.cli import main

from corpus_util import Run, run_stoker

STOKER = Path(sys.executable).with_name("stoker")
HEAD = "variant: fcos\nversion: 1.5.0\n"
PREFIX = "Error translating config: "


def cli(args: list[str], cwd: Path) -> Run:
    """stoker butane ARGS in-process. An exception escaping main() is a traceback the
    user would see: the test fails with it."""
    return run_stoker(args, cwd)


def run_input(tmp_path: Path, text: str | bytes, *args: str) -> Run:
    src = tmp_path / "in.bu"
    src.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return cli([*args, "in.bu"], tmp_path)


def failed(run: Run) -> str:
    """Common checks for a failure; returns stderr."""
    assert run.rc == 1, run
    assert run.stdout == "", run
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stderr.endswith("\n"), run
    return run.stderr


def yaml_error(run: Run, message: str) -> None:
    """A YAML syntax error as yaml.v3 words it (decode.go parser.fail): a line
    (0-based for parser errors, 1-based for scanner errors, none on the first
    line) and libyaml's problem, no column."""
    assert failed(run) == f"{PREFIX}Error unmarshaling yaml: {message}\n"


def decode_error(run: Run, line: int, problem: str) -> None:
    """Type errors are yaml.v3's unmarshal errors: a line, no column (SPEC §0.3)."""
    err = failed(run)
    assert err.startswith(PREFIX + "yaml: unmarshal errors:\n"), err
    assert f"  line {line}: {problem}" in err, err


def located(run: Run, path: str, line: int, column: int, message: str,
            filename: str = "in.bu") -> None:
    """A report entry in the pretty format: kind[$.path], --> file:L:C, caret line."""
    err = failed(run)
    assert f"error[{path}]:\n  --> {filename}:{line}:{column}\n" in err, err
    assert re.search(r"\| +\^+ " + re.escape(message) + "\n", err), err
    assert err.endswith(PREFIX + "source config is invalid\n"), err


# --------------------------------------------------------------------------- YAML syntax

def test_bad_indentation(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: /a\n   mode: 420\n")
    yaml_error(run, "yaml: line 3: did not find expected key")


def test_unclosed_quote(tmp_path):
    run = run_input(tmp_path, HEAD + 'storage:\n  files:\n  - path: "/a\n    mode: 420\n')
    yaml_error(run, "yaml: line 5: found unexpected end of stream")


def test_tab_indentation(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n\tfiles: []\n")
    yaml_error(run, "yaml: line 4: found character that cannot start any token")


# yaml.v3 v3.0.1 (decode.go, uniqueKeys): duplicates are unmarshal errors of the
# mappings it decodes; the top level is decoded first (Butane's version check).
def test_duplicate_top_level_key(tmp_path):
    run = run_input(tmp_path, "variant: fcos\nversion: 1.5.0\nvariant: fcos\n")
    assert failed(run) == (PREFIX + "Error unmarshaling yaml: yaml: unmarshal errors:\n"
                           '  line 3: mapping key "variant" already defined at line 1\n')


def test_duplicate_nested_key(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: /a\n    path: /b\n")
    assert failed(run) == (PREFIX + "yaml: unmarshal errors:\n"
                           '  line 6: mapping key "path" already defined at line 5\n')


def test_duplicate_key_under_unknown_key_only_warns(tmp_path):
    run = run_input(tmp_path, HEAD + "foo: {a: 1, a: 2}\n", "--raw-errors")
    assert (run.rc, run.stderr) == (0, "warning at $.foo, line 3 col 1: unused key foo\n"), run


def test_undefined_alias(tmp_path):
    run = run_input(tmp_path, HEAD + "storage: *nope\n")
    yaml_error(run, "yaml: unknown anchor 'nope' referenced")


# --------------------------------------------------------------------------- wrong types

def test_string_into_int(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: /a\n    mode: rw-r--r--\n")
    decode_error(run, 6, "cannot unmarshal !!str `rw-r--r--` into int")


def test_mapping_into_string(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: {a: 1}\n")
    decode_error(run, 5, "cannot unmarshal !!map into string")


def test_list_into_bool(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: /a\n    overwrite: [1]\n")
    decode_error(run, 6, "cannot unmarshal !!seq into bool")


def test_several_type_errors_each_with_its_line(tmp_path):
    run = run_input(tmp_path, HEAD + "passwd:\n  users:\n  - name: a\n    uid: x\n"
                    "    no_create_home: [1]\n")
    decode_error(run, 6, "cannot unmarshal !!str `x` into int")
    decode_error(run, 7, "cannot unmarshal !!seq into bool")


@pytest.mark.parametrize("text, line, what", [
    ("- a\n- b\n", 1, "!!seq"),
    ("hello\n", 1, "!!str `hello`"),
    ("42\n", 1, "!!int `42`"),
])
def test_document_is_not_a_mapping(tmp_path, text, line, what):
    run = run_input(tmp_path, text)
    err = failed(run)
    assert re.fullmatch(re.escape(f"{PREFIX}Error unmarshaling yaml: yaml: unmarshal errors:\n"
                                  f"  line {line}: cannot unmarshal {what} into ")
                        + r"[\w.]+\n", err), err


# --------------------------------------------------------------------------- variant/version
# The official tool reports these without a position; the message names the key.

def test_unknown_variant(tmp_path):
    err = failed(run_input(tmp_path, "variant: flatcar\nversion: 1.5.0\n"))
    assert err == PREFIX + "No translator exists for variant flatcar with version 1.5.0\n"


def test_unknown_version(tmp_path):
    err = failed(run_input(tmp_path, "variant: fcos\nversion: 1.9.0\n"))
    assert err == PREFIX + "No translator exists for variant fcos with version 1.9.0\n"


@pytest.mark.parametrize("variant,version", [
    ("fcos", "1.8.0"),  # only 1.8.0-experimental is registered
    ("fcos", "1.4.0+build.1"),  # the registry key is the semver string, metadata included
    ("flatcar", "1.2.0"), ("r4e", "1.3.0"), ("fiot", "1.1.0"), ("rhcos", "0.2.0"),
    ("openshift", "4.7.0"),
])
def test_unregistered_specs(tmp_path, variant, version):
    err = failed(run_input(tmp_path, f"variant: {variant}\nversion: {version}\n"))
    assert err == PREFIX + f"No translator exists for variant {variant} with version {version}\n"


def test_rhcos_is_registered_only_to_fail(tmp_path):
    err = failed(run_input(tmp_path, "variant: rhcos\nversion: 0.1.0\n"))
    assert err == PREFIX + ("rhcos variant has been removed; use openshift variant instead: "
                            "https://coreos.github.io/butane/upgrading-openshift/\n")


def test_openshift_without_metadata_is_located(tmp_path):
    """openshift needs metadata.name and the role label; both are located errors,
    also under --raw."""
    for args in ((), ("--raw",)):
        err = failed(run_input(tmp_path, "variant: openshift\nversion: 4.14.0\n", *args,
                               "--raw-errors"))
        assert err == ("error at $.metadata.name, line 1 col 1: metadata.name is required\n"
                       "error at $.metadata.labels, line 1 col 1: "
                       "machineconfiguration.openshift.io/role label is required\n"
                       + PREFIX + "source config is invalid\n")


OPENSHIFT_MINIMAL = ("metadata:\n  name: x\n  labels:\n"
                     "    machineconfiguration.openshift.io/role: worker\n")


@pytest.mark.parametrize("version,ignition", [
    *[(f"4.{m}.0", "3.2.0") for m in range(8, 14)],
    *[(f"4.{m}.0", "3.4.0") for m in range(14, 19)],
    *[(f"4.{m}.0", "3.5.0") for m in range(19, 23)],
    ("4.23.0-experimental", "3.7.0-experimental"),
])
def test_registered_openshift_specs(version, ignition):
    for raw in (False, True):
        result = translate(f"variant: openshift\nversion: {version}\n" + OPENSHIFT_MINIMAL,
                           raw=raw)
        assert result.ok and result.config == {"ignition": {"version": ignition}}
        assert (result.machine_config is None) == raw
    assert result.output() == '{"ignition":{"version":"%s"}}' % ignition


@pytest.mark.parametrize("version", ["4.23.0", "4.24.0-experimental", "4.22.0-experimental"])
def test_unregistered_openshift_specs(tmp_path, version):
    err = failed(run_input(tmp_path, f"variant: openshift\nversion: {version}\n"))
    assert err == PREFIX + f"No translator exists for variant openshift with version {version}\n"


@pytest.mark.parametrize("variant,version,ignition", [
    ("fcos", "1.0.0", "3.0.0"), ("fcos", "1.3.0", "3.2.0"),
    ("fcos", "1.8.0-experimental", "3.7.0-experimental"), ("flatcar", "1.0.0", "3.3.0"),
    ("flatcar", "1.2.0-experimental", "3.7.0-experimental"), ("r4e", "1.1.0", "3.4.0"),
    ("fiot", "1.0.0", "3.4.0"), ("fiot", "1.1.0-experimental", "3.7.0-experimental"),
])
def test_registered_specs(variant, version, ignition):
    result = translate(f"variant: {variant}\nversion: {version}\n")
    assert result.ok and result.config == {"ignition": {"version": ignition}}


@pytest.mark.parametrize("text", ["variant: fcos\n", "variant: fcos\nversion: 1.5\n",
                                  "variant: fcos\nversion: v1.5.0\n"])
def test_missing_or_bad_version(tmp_path, text):
    err = failed(run_input(tmp_path, text))
    assert err == PREFIX + "error parsing version; must be a valid semver\n"


def test_missing_variant(tmp_path):
    err = failed(run_input(tmp_path, "version: 1.5.0\n"))
    assert err == PREFIX + "error parsing variant; must be specified\n"


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_input(tmp_path, text):
    err = failed(run_input(tmp_path, text))
    assert err == PREFIX + "error parsing variant; must be specified\n"


# --------------------------------------------------------------------------- input file

def test_binary_input_file(tmp_path):
    data = HEAD.encode() + b"storage:\n  files:\n  - path: /a\n    contents:\n      inline: \xff\xfe\n"
    # libyaml's reader error (readerc.go): no mark, so no line
    yaml_error(run_input(tmp_path, data), "yaml: invalid leading UTF-8 octet")


def test_missing_input_file(tmp_path):
    run = cli(["nope.bu"], tmp_path)
    assert failed(run) == "failed to open nope.bu: open nope.bu: no such file or directory\n"


def test_directory_as_input(tmp_path):
    (tmp_path / "adir").mkdir()
    # Go opens a directory and fails on the read (internal/main.go "failed to read").
    assert failed(cli(["adir"], tmp_path)) == "failed to read adir: read adir: is a directory\n"


# --------------------------------------------------------------------------- local files

LOCAL = HEAD + "storage:\n  files:\n  - path: /a\n    contents:\n      local: {}\n"


@pytest.fixture
def files_dir(tmp_path):
    d = tmp_path / "files"
    (d / "sub").mkdir(parents=True)
    (d / "ok").write_bytes(b"\x00\x01binary\xff")
    (tmp_path / "secret").write_text("outside\n")
    return d


def test_missing_local_file(tmp_path, files_dir):
    run = run_input(tmp_path, LOCAL.format("nope"), "-d", "files")
    located(run, "$.storage.files.0.contents.local", 7, 14,
            "open files/nope: no such file or directory")


def test_missing_local_file_raw_errors(tmp_path, files_dir):
    run = run_input(tmp_path, LOCAL.format("nope"), "--raw-errors", "-d", "files")
    assert failed(run) == (
        "error at $.storage.files.0.contents.local, line 7 col 14: open files/nope: no such "
        "file or directory\n" + PREFIX + "source config is invalid\n")


@pytest.mark.parametrize("local", ["../secret", "sub/../../secret", "/../secret"])
def test_local_path_escaping_files_dir(tmp_path, files_dir, local):
    run = run_input(tmp_path, LOCAL.format(local), "-d", "files")
    located(run, "$.storage.files.0.contents.local", 7, 14,
            "local file path traverses outside the files directory")


def test_local_without_files_dir(tmp_path, files_dir):
    run = run_input(tmp_path, LOCAL.format("ok"))
    located(run, "$.storage.files.0.contents.local", 7, 14,
            "local file paths are relative to a files directory that must be specified "
            "with -d/--files-dir")


def test_local_file_is_a_directory(tmp_path, files_dir):
    run = run_input(tmp_path, LOCAL.format("sub"), "-d", "files")
    located(run, "$.storage.files.0.contents.local", 7, 14, "read files/sub: is a directory")


def test_tree_missing_directory(tmp_path, files_dir):
    run = run_input(tmp_path, HEAD + "storage:\n  trees:\n  - local: nope\n", "-d", "files")
    located(run, "$.storage.trees.0", 5, 5, "stat files/nope: no such file or directory")


def test_tree_root_is_a_file(tmp_path, files_dir):
    run = run_input(tmp_path, HEAD + "storage:\n  trees:\n  - local: ok\n", "-d", "files")
    located(run, "$.storage.trees.0", 5, 5, "root of tree must be a directory")


def test_missing_ssh_keys_file(tmp_path, files_dir):
    text = HEAD + "passwd:\n  users:\n  - name: core\n    ssh_authorized_keys_local:\n    - k.pub\n"
    run = run_input(tmp_path, text, "-d", "files")
    located(run, "$.passwd.users.0.ssh_authorized_keys_local.0", 7, 7,
            "open files/k.pub: no such file or directory")


# --------------------------------------------------------------------------- -o FILE

OK = HEAD + "storage:\n  files:\n  - path: /etc/motd\n    contents:\n      inline: hi\n"


def test_output_in_missing_directory(tmp_path):
    run = run_input(tmp_path, OK, "-o", "nodir/out.ign")
    err = failed(run)
    assert err == "failed to open nodir/out.ign: open nodir/out.ign: no such file or directory\n"
    assert not (tmp_path / "nodir").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.bu"]  # no temp file left


def test_output_not_created_on_failure(tmp_path):
    run = run_input(tmp_path, HEAD + "storage:\n  files:\n  - path: /a\n    mode: x\n",
                    "-o", "out.ign")
    failed(run)
    assert not (tmp_path / "out.ign").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.bu"]


def test_output_untouched_on_failure(tmp_path):
    (tmp_path / "out.ign").write_text("previous\n")
    run = run_input(tmp_path, "variant: fcos\nversion: 9.9.9\n", "-o", "out.ign")
    failed(run)
    assert (tmp_path / "out.ign").read_text() == "previous\n"


def test_output_not_created_under_strict(tmp_path):
    run = run_input(tmp_path, HEAD + "bogus: 1\n", "--strict", "-o", "out.ign")
    err = failed(run)
    assert "unused key bogus" in err
    assert err.endswith("Config produced warnings and --strict was specified\n")
    assert not (tmp_path / "out.ign").exists()


def test_output_created_with_mode_0644_less_the_umask(tmp_path):
    # As the official tool: os.OpenFile(output, O_WRONLY|O_CREATE|O_TRUNC, 0644).
    old = os.umask(0o077)
    try:
        run = run_input(tmp_path, OK, "-o", "out.ign")
    finally:
        os.umask(old)
    assert (run.rc, run.stdout, run.stderr) == (0, "", "")
    out = tmp_path / "out.ign"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == ('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":'
                               '"/etc/motd","contents":{"compression":"","source":"data:,hi"}}]}}'
                               "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.bu", "out.ign"]


def test_output_through_symlink(tmp_path):
    """-o follows a symlink instead of replacing it (a bug once)."""
    (tmp_path / "real.ign").write_text("previous\n")
    (tmp_path / "link.ign").symlink_to("real.ign")
    run = run_input(tmp_path, OK, "-o", "link.ign")
    assert run.rc == 0, run
    assert (tmp_path / "link.ign").is_symlink()
    assert (tmp_path / "real.ign").read_text().startswith('{"ignition":')


def test_check_writes_nothing(tmp_path):
    run = run_input(tmp_path, OK, "--check", "-o", "out.ign")
    assert (run.rc, run.stdout, run.stderr) == (0, "", "")
    assert not (tmp_path / "out.ign").exists()


# --------------------------------------------------------------------------- robustness
# Inputs that once escaped as Python exceptions (tracebacks).

def test_translate_str_with_lone_surrogate():
    result = translate("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n  - path: /a\udcff\n")
    assert result.error == "Error unmarshaling yaml: yaml: invalid Unicode character"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b"])
def test_control_character_in_input(tmp_path, char):
    run = run_input(tmp_path, HEAD + f"storage:\n  files:\n  - path: /a{char}\n")
    yaml_error(run, "yaml: control characters are not allowed")


def test_deeply_nested_yaml(tmp_path):
    run = run_input(tmp_path, HEAD + "deep: " + "[" * 1000 + "]" * 1000 + "\n")
    assert run.rc == 0, run
    assert "unused key deep" in run.stderr and "Traceback" not in run.stderr


def test_deeply_nested_inline_merge_config(tmp_path):
    text = (HEAD + "ignition:\n  config:\n    merge:\n    - inline: '" + "[" * 1000
            + "]" * 1000 + "'\n")
    run = run_input(tmp_path, text)
    located(run, "$.ignition.config.merge.0.inline", 6, 15, "config is not valid")


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "-o"])
def test_tree_entry_with_non_utf8_name(tmp_path, to_file):
    tree = tmp_path / "files" / "t"
    tree.mkdir(parents=True)
    with open(os.path.join(os.fsencode(tree), b"bad\xffname"), "wb") as f:
        f.write(b"ok")
    os.symlink(b"target\xfe", os.path.join(os.fsencode(tree), b"link"))
    args = ["-d", "files"] + (["-o", "out.ign"] if to_file else [])
    src = tmp_path / "in.bu"
    src.write_text(HEAD + "storage:\n  trees:\n  - local: t\n    path: /opt/t\n")
    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(stdout), redirect_stderr(err):
            rc = main(["butane", *args, "in.bu"])
        stdout.flush()
    finally:
        os.chdir(old)
    assert rc == 0, err.getvalue()
    data = (tmp_path / "out.ign").read_bytes() if to_file else out.getvalue()
    text = data.decode("utf-8")  # valid UTF-8
    # the official v0.29.0 writes each invalid byte as the escape \ufffd (Go's encoding/json)
    assert '"path":"/opt/t/bad\\ufffdname"' in text, text
    assert '"target":"target\\ufffd"' in text, text


# --------------------------------------------------------------------------- subprocess

def stoker(args: list[str], cwd: Path, stdin: bytes | None = None) -> Run:
    proc = subprocess.run([str(STOKER), "butane", *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=60)
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_subprocess_missing_local_file(tmp_path, files_dir):
    (tmp_path / "in.bu").write_text(LOCAL.format("nope"))
    run = stoker(["-d", "files", "-o", "out.ign", "in.bu"], tmp_path)
    located(run, "$.storage.files.0.contents.local", 7, 14,
            "open files/nope: no such file or directory")
    assert not (tmp_path / "out.ign").exists()


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_subprocess_bad_yaml_on_stdin(tmp_path):
    run = stoker([], tmp_path, stdin=(HEAD + "storage:\n\tfiles: []\n").encode())
    yaml_error(run, "yaml: line 4: found character that cannot start any token")


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_subprocess_binary_stdin_and_directory_input(tmp_path):
    run = stoker([], tmp_path, stdin=b"\x80\x81\xfe\xfa binary\n")
    yaml_error(run, "yaml: invalid leading UTF-8 octet")
    (tmp_path / "adir").mkdir()
    err = failed(stoker(["adir"], tmp_path))
    assert "adir" in err and "is a directory" in err, err


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_subprocess_success_writes_0644(tmp_path):
    (tmp_path / "in.bu").write_text(OK)
    umask = os.umask(0)
    os.umask(umask)
    run = stoker(["-o", "out.ign", "in.bu"], tmp_path)
    assert (run.rc, run.stdout, run.stderr) == (0, "", "")
    assert stat.S_IMODE((tmp_path / "out.ign").stat().st_mode) == 0o644 & ~umask


def test_output_onto_an_existing_file_keeps_its_mode(tmp_path):
    out = tmp_path / "out.ign"
    out.write_text("previous\n")
    out.chmod(0o640)
    run = run_input(tmp_path, OK, "-o", "out.ign")
    assert run.rc == 0 and stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text().startswith("{")


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(tmp_path, flag):
    run = cli([flag], tmp_path)
    assert (run.rc, run.stdout) == (0, "Butane v0.29.0\n")  # butane internal/version/version.go


def test_an_escape_naming_a_surrogate_is_yaml_v3s_error_not_a_traceback(tmp_path):
    run = run_input(tmp_path, HEAD + 'storage:\n  files:\n    - path: /etc/a\n      contents:\n'
                    '        inline: "\\ud83d\\ude00"\n')
    err = failed(run)
    assert "yaml: line 7: found invalid Unicode character escape code" in err


@pytest.mark.parametrize("flag", [["-d", ""], ["--files-dir="]])
def test_empty_files_dir_is_unset(tmp_path, files_dir, flag):
    # Official: FilesDir "" means no files directory (base/util/file.go), not the cwd.
    (tmp_path / "ok").write_text("in the cwd\n")
    run = run_input(tmp_path, LOCAL.format("ok"), *flag)
    located(run, "$.storage.files.0.contents.local", 7, 14,
            "local file paths are relative to a files directory that must be specified "
            "with -d/--files-dir")


def test_empty_files_dir_is_unset_for_trees(tmp_path):
    (tmp_path / "t").mkdir()
    run = run_input(tmp_path, HEAD + "storage:\n  trees:\n  - local: t\n", "-d", "")
    err = failed(run)
    assert "must be specified with -d/--files-dir" in err, err


def test_tree_root_symlink_is_one_link(tmp_path, files_dir):
    # Official: os.Stat follows the root symlink (a directory), filepath.Walk does not:
    # the tree is one link at its path.
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "f").write_text("x")
    (tmp_path / "files" / "tlink").symlink_to("../outdir")
    run = run_input(tmp_path, HEAD + "storage:\n  trees:\n  - local: tlink\n    path: /opt/t\n",
                    "-d", "files")
    assert (run.rc, run.stderr) == (0, ""), run
    assert run.stdout == ('{"ignition":{"version":"3.4.0"},"storage":{"links":[{"path":"/opt/t",'
                          '"target":"../outdir"}]}}\n')


def test_nesting_up_to_yaml_v3s_limit_is_linear(tmp_path):
    # yaml.v3 accepts 10000 nested flow collections (scannerc.go max_flow_level).
    # PyYAML's scanner was quadratic here: 10000 levels took about a minute.
    import time

    start = time.monotonic()
    run = run_input(tmp_path, HEAD + "deep: " + "[" * 10000 + "]" * 10000 + "\n")
    assert run.rc == 0 and "unused key deep" in run.stderr, run
    assert time.monotonic() - start < 30


def test_nesting_beyond_yaml_v3s_limit(tmp_path):
    run = run_input(tmp_path, HEAD + "deep: " + "[" * 10001 + "]" * 10001 + "\n")
    assert failed(run) == PREFIX + "Error unmarshaling yaml: yaml: line 3: exceeded max depth of 10000\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_input_with_byte_order_mark(tmp_path, encoding):
    # libyaml's reader (yaml.v3 readerc.go) decodes UTF-16 when the input starts
    # with its byte order mark.
    run = run_input(tmp_path, ("\ufeff" + OK + "bogus: 1\n").encode(encoding), "--raw-errors")
    assert run.rc == 0, run
    assert run.stdout.startswith('{"ignition":{"version":"3.4.0"},"storage":{"files":[')
    assert run.stderr == "warning at $.bogus, line 8 col 1: unused key bogus\n"


def test_complex_key_is_an_unmarshal_error(tmp_path):
    # yaml.v3 mappingStruct decodes each key into a string: `? [a, b]` cannot be one.
    run = run_input(tmp_path, HEAD + "? [a, b]\n: c\n")
    assert failed(run) == (PREFIX + "Error unmarshaling yaml: yaml: unmarshal errors:\n"
                           "  line 3: cannot unmarshal !!seq into string\n")

"""The stoker command line as a whole."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stoker.cli import COMMAND_MODULES, _Parser, main


@pytest.mark.parametrize("module", list(COMMAND_MODULES))
def test_command_table_lists_what_each_module_registers(module):
    parser = _Parser(prog="stoker")
    sub = parser.add_subparsers()
    importlib.import_module(module).register(sub)
    assert tuple(sub.choices) == COMMAND_MODULES[module]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for names in COMMAND_MODULES.values():
        for name in names:
            assert name in out


# Modules a `stoker butane` run to standard output must not load: they cost start-up and it
# needs none of them (the cloud SDK, schema validation, terminal and HTTP libraries, and what
# only writing a file or argparse's terminal width would pull in).
NOT_ON_BUTANE_PATH = ("openstack", "jsonschema", "rich", "requests", "tempfile", "shutil", "typing",
                      "argparse", "gettext", "dataclasses", "inspect", "string", "decimal", "gzip",
                      "urllib.parse", "copy", "unicodedata")


# A typical config: every kind of storage node, inline (short and long, so that percent,
# base64 and gzip encodings are all chosen) and local contents, units with dropins, a
# filesystem with its mount unit, users and kernel arguments.
TYPICAL = """\
variant: fcos
version: 1.5.0
passwd:
  users:
    - name: core
      ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey core@example]
storage:
  disks:
    - device: /dev/vdb
      wipe_table: true
      partitions: [{number: 1, label: data, size_mib: 0}]
  filesystems:
    - {device: /dev/disk/by-partlabel/data, format: xfs, path: /var/lib/data, with_mount_unit: true}
  directories: [{path: /var/lib/app, mode: 0750}]
  links: [{path: /etc/localtime, target: ../usr/share/zoneinfo/UTC}]
  files:
    - {path: /etc/hostname, mode: 0644, contents: {inline: node1}}
    - path: /etc/motd
      contents: {inline: "Welcome, welcome, welcome!\\nWelcome, welcome, welcome!\\n"}
    - path: /etc/app.conf
      contents:
        inline: |
          key = value with spaces and <brackets> & "quotes"
          key = value with spaces and <brackets> & "quotes"
          key = value with spaces and <brackets> & "quotes"
    - {path: /etc/local.conf, contents: {local: local.conf}}
systemd:
  units:
    - name: app.service
      enabled: true
      contents: "[Unit]\\nDescription=App\\n[Service]\\nExecStart=/usr/bin/app\\n[Install]\\nWantedBy=multi-user.target\\n"
      dropins: [{name: 10-limits.conf, contents: "[Service]\\nLimitNOFILE=65536\\n"}]
    - {name: docker.service, mask: true}
kernel_arguments:
  should_exist: [console=ttyS0]
"""


def test_butane_imports_only_what_it_needs(tmp_path):
    (tmp_path / "a.bu").write_text(TYPICAL)
    (tmp_path / "local.conf").write_bytes(bytes(range(256)))
    code = ("import sys; from stoker.cli import main; rc = main(['butane', '-d', sys.argv[2], sys.argv[1]]); "
            f"loaded = [m for m in {NOT_ON_BUTANE_PATH!r} if m in sys.modules]; "
            "print(loaded, file=sys.stderr); sys.exit(rc if not loaded else 99)")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.bu"), str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    sources = [f["contents"]["source"] for f in json.loads(run.stdout)["storage"]["files"]]
    assert {s.split(",")[0] for s in sources} == {"data:", "data:;base64"}, sources
    assert json.loads(run.stdout)["storage"]["files"][2]["contents"]["compression"] == "gzip"


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


# stoker.cli turns the cycle collector off for a `stoker butane` run (start-up): that is
# safe only while a run leaves no cyclic garbage, whatever the input, errors included.
CYCLES = """
import contextlib, gc, io, pathlib, sys
from stoker.cli import main
cases = [d for c in ("corpus", "corpus-variants") for d in sorted((pathlib.Path(sys.argv[1]) / c).iterdir())
         if (d / "input.bu").exists()]
for attempt in ("imports", "again"):
    gc.collect()
    gc.disable()  # nothing is collected before the count below
    for d in cases:
        for extra in ([], ["--raw-errors"], ["--strict"], ["--raw", "--pretty"]):
            files = ["-d", str(d / "files")] if (d / "files").exists() else []
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                main(["butane", *extra, *files, str(d / "input.bu")])
    print(attempt, gc.collect())
    gc.enable()
with contextlib.redirect_stdout(io.StringIO()):
    main(["butane", str(cases[0] / "input.bu")])
print("collector back on:", gc.isenabled())
"""


def test_butane_runs_leave_no_cyclic_garbage():
    tests = str(Path(__file__).parent / "butane")
    run = subprocess.run([sys.executable, "-c", CYCLES, tests], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # the first round's imports leave a few hundred objects once; no run leaves any
    assert run.stdout.splitlines()[1:] == ["again 0", "collector back on: True"], run.stdout

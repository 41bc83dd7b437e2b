"""The stoker command line as a whole."""

import importlib
import subprocess
import sys

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
                      "argparse", "gettext", "dataclasses", "inspect", "string", "decimal")


def test_butane_imports_only_what_it_needs(tmp_path):
    (tmp_path / "a.bu").write_text("variant: fcos\nversion: 1.5.0\n")
    code = ("import sys; from stoker.cli import main; rc = main(['butane', sys.argv[1]]); "
            f"loaded = [m for m in {NOT_ON_BUTANE_PATH!r} if m in sys.modules]; "
            "print(loaded, file=sys.stderr); sys.exit(rc if not loaded else 99)")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.bu")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == '{"ignition":{"version":"3.4.0"}}\n'


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2

"""`stoker butane`'s own argument parser (stoker.butane.cli.parse_args, there for
start-up) against argparse: whenever it accepts a command line, argparse reads the
same values from it; anything unusual is left to argparse, whose help, usage and
error messages stay the only ones."""

from __future__ import annotations

import contextlib
import io
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.butane.cli import OPTIONS, parse_args, run
from stoker.cli import main
from stoker.cliparser import build_parser

TOKENS = [flag for flags, *_ in OPTIONS for flag in flags] + [
    "in.bu", "files", "out.ign", "-", "--", "-1", "", "a b", "-x", "--pre", "--files", "-sp",
    "-dfiles", "-d=files", "--files-dir=files", "--output=", "--strict=1", "-h", "--help",
    "--raw-err", "x=y", "-o-"]


def with_argparse(argv: list[str]):
    """argparse's namespace for `stoker butane ARGV`, or the exit code it stops with."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(build_parser(["butane"]).parse_args(["butane", *argv]))
        except SystemExit as exc:
            return exc.code


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=6))
def test_accepted_command_lines_read_as_argparse_reads_them(argv):
    fast = parse_args(argv)
    if fast is not None:
        assert vars(fast) == with_argparse(argv)


@pytest.mark.parametrize("argv", [
    ["in.bu"], [], ["--strict", "in.bu"], ["--raw-errors", "-d", "files", "in.bu"],
    ["-p", "-d", "files", "-o", "out.ign", "in.bu"], ["in.bu", "--pretty", "--raw"],
    ["--files-dir=files", "--output=out.ign", "-c", "-s", "in.bu"], ["-V"], ["-d", "", "in.bu"],
])
def test_usual_command_lines_need_no_argparse(argv):
    fast = parse_args(argv)
    assert fast is not None and fast.func is run
    assert vars(fast) == with_argparse(argv)


@pytest.mark.parametrize("argv", [
    ["-h"], ["--help"], ["a", "b"], ["-d"], ["-d", "-x"], ["--pre"], ["-sp", "in.bu"], ["--", "in.bu"],
    ["-"], ["--strict=1"], ["-dfiles", "in.bu"],
])
def test_other_command_lines_are_left_to_argparse(argv):
    assert parse_args(argv) is None


def test_usage_errors_and_help_are_argparse_s(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["butane", "a.bu", "b.bu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == ("usage: stoker [-h] [--version] COMMAND ...\n"
                   "stoker: error: unrecognized arguments: b.bu\n")
    with pytest.raises(SystemExit) as exc:
        main(["butane", "-d"])
    assert capsys.readouterr().err.endswith("stoker butane: error: argument --files-dir/-d: "
                                            "expected one argument\n")
    with pytest.raises(SystemExit) as exc:
        main(["butane", "--help"])
    assert exc.value.code == 0
    assert "--files-dir DIR, -d DIR" in capsys.readouterr().out

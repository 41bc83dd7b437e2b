"""`stoker butane`'s argument parser (stoker.butane.cli.parse_args), which reads a
command line as the official CLI's spf13/pflag does (butane v0.29.0
internal/main.go): exact long names, `--flag=value` for booleans too, combined
short flags, values taken whatever they start with, "" as standard input, pflag's
error messages with exit code 2. argparse is used only for --help."""

from __future__ import annotations

import pytest

from stoker.butane.cli import USAGE, parse_args, run
from stoker.cli import main


def parsed(argv: list[str]) -> dict:
    args = parse_args(argv)
    assert args is not None and args.func is run
    return vars(args)


@pytest.mark.parametrize("argv, want", [
    (["in.bu"], {"input": "in.bu"}),
    ([], {"input": None}),
    ([""], {"input": None}),  # official: input "" reads standard input
    (["--strict=false", "in.bu"], {"strict": False, "input": "in.bu"}),
    (["--pretty=true", "--raw-errors=1", "-s=T"], {"pretty": True, "raw_errors": True,
                                                   "strict": True}),
    (["-sp", "in.bu"], {"strict": True, "pretty": True}),
    (["-spdfiles", "in.bu"], {"strict": True, "pretty": True, "files_dir": "files"}),
    (["-d=files"], {"files_dir": "files"}),
    (["-d="], {"files_dir": "="}),  # pflag: "-d=" is "-d" with the value "="
    (["-o", "-x"], {"output": "-x"}),  # the next argument is the value, whatever it is
    (["--files-dir="], {"files_dir": None}),  # official: an empty files dir is unset
    (["-d", ""], {"files_dir": None}),
    (["--", "-in.bu"], {"input": "-in.bu"}),
    (["-"], {"input": "-"}),
    (["in.bu", "--pretty"], {"input": "in.bu", "pretty": True}),
    (["--color", "in.bu"], {"input": "in.bu"}),  # --color alone is "always"; no value taken
    (["--colour=never", "-D", "--debug", "in.bu"], {"input": "in.bu"}),
    (["-V"], {"version": True}),
])
def test_command_lines_read_as_pflag_reads_them(argv, want):
    got = parsed(argv)
    for key, value in want.items():
        assert got[key] == value, (key, got)


def test_deprecated_input_flag(capsys):
    assert parsed(["--input", "in.bu"])["input"] == "in.bu"
    assert capsys.readouterr().err == ("Flag --input has been deprecated, specify filename "
                                       "directly on command line\n")


@pytest.mark.parametrize("argv, message", [
    (["--pre"], "unknown flag: --pre"),  # pflag has no abbreviations
    (["--files", "x"], "unknown flag: --files"),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["-sx"], "unknown shorthand flag: 'x' in -x"),
    (["-d"], "flag needs an argument: 'd' in -d"),
    (["--output"], "flag needs an argument: --output"),
    (["--strict=maybe"], 'invalid argument "maybe" for "-s, --strict" flag: strconv.ParseBool: '
                         'parsing "maybe": invalid syntax'),
    (["--raw-errors=2"], 'invalid argument "2" for "--raw-errors" flag: strconv.ParseBool: '
                         'parsing "2": invalid syntax'),
    (["a.bu", "b.bu"], None),
    (["--input", "a.bu", "b.bu"], None),
])
def test_usage_errors_are_pflag_s(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(USAGE), err
    if message is not None:
        assert err == message + "\n" + USAGE, err


def test_usage_error_through_main_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["butane", "--pre", "in.bu"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("unknown flag: --pre\n")


@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["-sh", "in.bu"]])
def test_help_is_argparse_s(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(["butane", *argv])
    assert exc.value.code == 0
    assert "--files-dir DIR, -d DIR" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["-h", "x", "y"], ["-h", "--input", "x", "y"]])
def test_help_with_too_many_inputs_is_a_usage_error(capsys, argv):
    """Review fault: `-h x y` printed the help and exited 0; the official tool refuses extra
    arguments before it looks at -h (butane internal/main.go), exit 2."""
    with pytest.raises(SystemExit) as exc:
        main(["butane", *argv])
    assert exc.value.code == 2
    assert "--files-dir DIR, -d DIR" not in capsys.readouterr().out

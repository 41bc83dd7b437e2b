"""`stoker butane`: a drop-in for the official butane CLI (fcos, flatcar, r4e,
fiot and openshift variants; see specs.py). openshift writes a MachineConfig in
YAML, or with -r/--raw the Ignition JSON inside it."""

from __future__ import annotations

import sys

from . import STRICT_FAILED, translate
from .resources import go_os_error


# The options of `stoker butane`: option strings (as help lists them), destination,
# metavar (None: a flag) and help. register() declares them to argparse and
# parse_args() reads them, so the two parsers cannot drift apart.
OPTIONS = (
    (("--strict", "-s"), "strict", None, "fail on any warning"),
    (("--pretty", "-p"), "pretty", None, "indent the output JSON"),
    (("--files-dir", "-d"), "files_dir", "DIR", "allow local file references relative to DIR"),
    (("--output", "-o"), "output", "FILE", "write to FILE instead of stdout"),
    (("--check", "-c"), "check", None, "check the config only"),
    (("--raw-errors",), "raw_errors", None, "report one line per problem, without source context"),
    (("--raw", "-r"), "raw", None, "openshift: write the Ignition config instead of a "
     "MachineConfig (other variants ignore it)"),
    (("--version", "-V"), "version", None, "print the version and exit"),
)


def register(sub) -> None:
    p = sub.add_parser(
        "butane", help="translate a Butane config to Ignition (drop-in for the butane CLI)",
        description="Translate a Butane config (fcos 1.0.0-1.8.0-experimental, flatcar, "
                    "r4e, fiot) to Ignition JSON, or an openshift one (4.8.0-4.23.0-"
                    "experimental) to a MachineConfig (Ignition JSON with --raw). Exit "
                    "codes: 0 success, 1 translation error (or warnings under --strict), "
                    "2 usage error.")
    p.add_argument("input", nargs="?", metavar="INPUT", help="Butane file (default: stdin)")
    for flags, dest, metavar, help_text in OPTIONS:
        if metavar is None:
            p.add_argument(*flags, dest=dest, action="store_true", help=help_text)
        else:
            p.add_argument(*flags, dest=dest, metavar=metavar, help=help_text)
    p.set_defaults(func=run)


_FLAGS = {flag: dest for flags, dest, metavar, _ in OPTIONS if metavar is None for flag in flags}
_VALUED = {flag: dest for flags, dest, metavar, _ in OPTIONS if metavar for flag in flags}


def parse_args(argv: list[str]):
    """The arguments after `butane`, parsed as argparse parses them, for the command
    lines people and scripts write: exact option names (`--files-dir DIR`,
    `--files-dir=DIR`, `-d DIR`), flags, at most one INPUT. Returns a namespace with
    the attributes register()'s parser gives (`func` is run), or None for any other
    command line (help, abbreviations, combined short flags, `--`, a value or INPUT
    starting with "-", a usage error), which argparse must then parse: its help,
    usage and error messages stay the only ones. Exists for start-up: importing and
    building the argparse parser costs more than the rest of a small translation."""
    values = {dest: (None if metavar else False) for _, dest, metavar, _ in OPTIONS}
    values["input"] = None
    i, n = 0, len(argv)
    while i < n:
        arg = argv[i]
        if not arg.startswith("-"):
            if values["input"] is not None:
                return None  # argparse: unrecognized arguments
            values["input"] = arg
        elif arg in _FLAGS:
            values[_FLAGS[arg]] = True
        elif arg in _VALUED:
            if i + 1 == n or argv[i + 1].startswith("-"):
                return None  # argparse: expected one argument (or a value such as -1)
            i += 1
            values[_VALUED[arg]] = argv[i]
        else:
            name, eq, value = arg.partition("=")
            if not (eq and name.startswith("--") and name in _VALUED):
                return None
            values[_VALUED[name]] = value
        i += 1
    from types import SimpleNamespace

    return SimpleNamespace(command="butane", func=run, **values)


# The official tool prints "Fedora CoreOS Config Transpiler" and its release
# (butane internal/version/version.go); stoker follows v0.29.0's semantics.
OFFICIAL_RELEASE = "v0.29.0"


def run(args) -> int:
    if args.version:
        from .. import __version__

        print(f"Fedora CoreOS Config Transpiler {OFFICIAL_RELEASE} (stoker {__version__}, pure Python)")
        return 0
    from .output import IOFailure, read_input

    try:
        data = read_input(args.input)
    except IOFailure as exc:
        print(exc, file=sys.stderr)
        return 1
    filename = "<stdin>" if args.input is None else args.input
    result = translate(data, files_dir=args.files_dir, strict=args.strict, filename=filename,
                       raw=args.raw)
    if result.report:
        from . import render  # here: a clean run prints no report (start-up)

        text = data.decode("utf-8", errors="replace")
        sys.stderr.write(render.raw(result.report.entries) if args.raw_errors
                         else render.pretty(result.report.entries, text, filename))
    if result.error == STRICT_FAILED:
        print(STRICT_FAILED, file=sys.stderr)
        return 1
    if not result.ok:
        print(f"Error translating config: {result.error}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    output = (result.output(pretty=args.pretty) + "\n").encode("utf-8", "surrogateescape")
    from .output import write_output, write_stdout

    try:
        if args.output:
            write_output(args.output, output)
        else:
            write_stdout(output)
    except IOFailure as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0

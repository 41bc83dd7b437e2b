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
    (("--version", "-V"), "version", None, "print the version and exit (Butane v0.29.0)"),
    (("--debug", "-D"), "debug", None, "accepted and ignored (official: log translations)"),
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
    p.add_argument("--color", "--colour", dest="color", nargs="?", const="always",
                   metavar="WHEN", help="accepted and ignored: stoker never colours its messages")
    p.add_argument("--input", dest="input_flag", metavar="FILE", help="deprecated: give INPUT instead")
    p.set_defaults(func=run)


# pflag's names for the same options (butane internal/main.go), plus the ones
# stoker accepts without acting on them: --color/--colour (stoker never colours
# its messages), -D/--debug (hidden; official: log translations) and the hidden,
# deprecated --input FILE.
_BOOLS = {"strict": "s", "pretty": "p", "check": "c", "raw-errors": None, "raw": "r",
          "version": "V", "debug": "D", "help": "h"}
_STRINGS = {"output": "o", "files-dir": "d", "input": None, "color": None, "colour": None}
_NO_OPT_DEFAULT = {"color": "always", "colour": "always"}  # --color alone means always
_SHORT = {short: name for table in (_BOOLS, _STRINGS) for name, short in table.items() if short}
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
USAGE = "Usage: stoker butane [options] [input-file]\nRun 'stoker butane --help' for the options.\n"


def _usage_error(message: str | None):
    """pflag's ExitOnError: its message (if any), the usage, exit code 2."""
    if message:
        print(message, file=sys.stderr)
    sys.stderr.write(USAGE)
    raise SystemExit(2)


def _parse_bool(name: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    short = _BOOLS[name]
    flag = f"-{short}, --{name}" if short else f"--{name}"
    _usage_error(f'invalid argument "{value}" for "{flag}" flag: strconv.ParseBool: '
                 f'parsing "{value}": invalid syntax')


def parse_args(argv: list[str]):
    """The arguments after `butane`, read as the official CLI's pflag reads them
    (spf13/pflag v1.0.x, butane internal/main.go): long options by their exact
    name (no abbreviations), `--name=value`, boolean `--strict=false` (Go's
    strconv.ParseBool words), combined short flags (`-sp`, `-dDIR`, `-d=DIR`),
    a value taken from the next argument whatever it starts with, `--` ending the
    options, options and INPUT in any order, INPUT `""` meaning standard input.
    Returns a namespace with the attributes register()'s parser gives (`func` is
    run), or None for -h/--help (argparse prints the help). A usage error prints
    pflag's message (`unknown flag: --pre`, `flag needs an argument: 'd' in -d`,
    ...) and the usage to stderr and raises SystemExit(2). Exists for start-up
    too: argparse is imported only for the help."""
    values: dict = {dest: (None if metavar else False) for _, dest, metavar, _ in OPTIONS}
    strings: dict[str, str] = {}
    positional: list[str] = []
    i, n = 0, len(argv)

    def take(name: str, shown: str) -> str:
        nonlocal i
        if name in _NO_OPT_DEFAULT:
            return _NO_OPT_DEFAULT[name]
        if i + 1 >= n:
            _usage_error(f"flag needs an argument: {shown}")
        i += 1
        return argv[i]

    while i < n:
        arg = argv[i]
        if arg == "--":
            positional.extend(argv[i + 1:])
            break
        if len(arg) < 2 or arg[0] != "-":
            positional.append(arg)
        elif arg[1] == "-":
            name, eq, value = arg[2:].partition("=")
            if name in _BOOLS:
                values[name.replace("-", "_")] = _parse_bool(name, value) if eq else True
            elif name in _STRINGS:
                strings[name] = value if eq else take(name, f"--{name}")
            else:
                _usage_error(f"unknown flag: --{name}")
        else:
            shorts = arg[1:]
            while shorts:
                c = shorts[0]
                name = _SHORT.get(c)
                if name is None:
                    _usage_error(f"unknown shorthand flag: '{c}' in -{shorts}")
                if name in _BOOLS:
                    if len(shorts) > 2 and shorts[1] == "=":
                        values[name.replace("-", "_")] = _parse_bool(name, shorts[2:])
                        break
                    values[name.replace("-", "_")] = True
                    shorts = shorts[1:]
                    continue
                rest = shorts[1:]
                strings[name] = (rest[1:] if len(rest) > 1 and rest[0] == "=" else rest
                                 if rest else take(name, f"'{c}' in -{c}"))
                break
        i += 1
    if "input" in strings:  # pflag says so while parsing, before anything below
        print("Flag --input has been deprecated, specify filename directly on command line",
              file=sys.stderr)
    source = strings.get("input", "")
    if len(positional) == 1 and source == "":
        source = positional[0]
    elif positional:  # refused before -h is looked at (butane internal/main.go)
        _usage_error(None)
    if values.pop("help", False):
        return None
    values["input"] = source or None  # "" is standard input, as officially
    values["output"] = strings.get("output") or None
    values["files_dir"] = strings.get("files-dir") or None  # "" is unset, as officially
    from types import SimpleNamespace

    return SimpleNamespace(command="butane", func=run, **values)


# The official tool prints "Butane v0.29.0" (butane internal/version/version.go:
# "Butane " + the release); stoker prints exactly that, so scripts comparing the
# line or parsing "Butane v..." read it as they read the official one.
OFFICIAL_RELEASE = "v0.29.0"


def _print_error(text: str) -> None:
    """A line to stderr; bytes kept from the input (a value yaml.v3 cut inside a
    character, surrogate-escaped) are written as the bytes themselves."""
    buffer = getattr(sys.stderr, "buffer", None)
    if buffer is None or text.isascii():
        print(text, file=sys.stderr)
        return
    sys.stderr.flush()
    buffer.write((text + "\n").encode("utf-8", "surrogateescape"))
    buffer.flush()


_NO_TRANSLATOR = "No translator exists for variant "


def unsupported_hint(error: str | None, tty: bool) -> str | None:
    """On a terminal, the line naming the supported versions (or the known
    variants) after "No translator exists for variant V with version X".
    Elsewhere nothing: the official stderr, byte for byte, for scripts."""
    if not tty or not error or not error.startswith(_NO_TRANSLATOR):
        return None
    variant = error[len(_NO_TRANSLATOR):].rpartition(" with version ")[0]
    from .specs import supported_hint

    return supported_hint(variant)


def run(args) -> int:
    if args.version:
        print(f"Butane {OFFICIAL_RELEASE}")
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

        from . import decode_input

        try:
            text = decode_input(data)
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
        sys.stderr.write(render.raw(result.report.entries) if args.raw_errors
                         else render.pretty(result.report.entries, text, filename))
    if result.error == STRICT_FAILED:
        print(STRICT_FAILED, file=sys.stderr)
        return 1
    if not result.ok:
        _print_error(f"Error translating config: {result.error}")
        hint = unsupported_hint(result.error, sys.stderr.isatty())
        if hint:
            print(hint, file=sys.stderr)
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

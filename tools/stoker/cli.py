"""The `stoker` command. Each area registers its subcommands from its own module.

Library code never prints or exits; the functions registered here do.

Start-up: this module imports nothing but stoker.errors. A `stoker butane` command
line of the usual shape is parsed by stoker.butane.cli.parse_args without argparse;
every other command line (help, usage errors, other commands) goes to the argparse
parser of stoker.cliparser, which prints the usage and help texts.
"""

from __future__ import annotations

import gc
import os
import sys

from .errors import Interrupted, StokerError, UsageError

# Modules that define `register(subparsers)`, with the subcommands each adds.
# Only the module of the command being run is imported, so `stoker butane` does
# not pay for openstacksdk's import (half a second).
COMMAND_MODULES = {
    "stoker.boot.cli": ("image", "boot", "boot-test", "fleet-test"),
    "stoker.butane.cli": ("butane",),
    "stoker.cloud.cli": ("plan", "deploy", "adopt", "rollback", "status"),
    "stoker.fleet.cli": ("list", "render", "ignition", "validate", "secrets-example"),
    "stoker.rollout.cli": ("rollout", "history"),
}


def _modules_for(argv: list[str]) -> list[str]:
    command = next((a for a in argv if not a.startswith("-")), None)
    wanted = [m for m, names in COMMAND_MODULES.items() if command in names]
    return wanted or list(COMMAND_MODULES)


def __getattr__(name: str):
    # The argparse side, for code and tests that take it from here (PEP 562: loaded
    # on first use, so that `stoker butane` does not import argparse).
    if name in ("build_parser", "_Parser", "_Formatter", "_columns"):
        from . import cliparser

        return getattr(cliparser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parse(argv: list[str]):
    if argv and argv[0] == "butane":
        from .butane.cli import parse_args

        args = parse_args(argv[1:])
        if args is not None:
            return args
        argv = ["butane", "--help"]  # the only command line parse_args leaves to argparse
    from .cliparser import build_parser

    return build_parser(argv).parse_args(argv)


def _reopen_closed_stdio() -> None:
    """Standard input, output and error that the caller closed are opened on /dev/null,
    as the Go runtime does at start-up, so `stoker butane 2>&-` still writes its config
    (Python leaves sys.stdin/stdout/stderr as None for a closed descriptor)."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False,
                                    errors="backslashreplace" if fd == 2 else None))


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 success, 1 an error or a failed check,
    2 a usage error or a missing host program, 130 interrupted (Ctrl-C); the boot commands,
    which stop on SIGTERM and SIGHUP too, exit 128 + the signal's number (143, 129)."""
    argv = sys.argv[1:] if argv is None else argv
    _reopen_closed_stdio()
    # `stoker butane` makes no reference cycles (reference counting frees all it
    # drops; tests/test_cli.py checks it), so the cycle collector's passes over the
    # objects of its imports and of the YAML tree are pure cost: about 5% of a small
    # run (start-up). Restored on return, for callers in the same process.
    collecting = gc.isenabled()
    if argv and argv[0] == "butane":
        gc.disable()
    try:
        args = _parse(argv)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"stoker: {exc}", file=sys.stderr)
        return 2
    except StokerError as exc:
        print(f"stoker: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        if argv and argv[0] == "butane":  # as the official tool (Go): killed by SIGINT, silent
            from .butane.output import die_of_signal
            die_of_signal("SIGINT")
        return _interrupted(exc)
    finally:
        if collecting:
            gc.enable()


def _interrupted(exc: KeyboardInterrupt) -> int:
    """One line on stderr (if it is still there: a hung-up terminal is not) and 128 + the signal."""
    import signal
    name = exc.signame if isinstance(exc, Interrupted) else "SIGINT"
    try:
        print(f"stoker: {exc}" if isinstance(exc, Interrupted) else "stoker: interrupted", file=sys.stderr)
    except OSError:
        pass
    return 128 + signal.Signals[name].value


if __name__ == "__main__":
    sys.exit(main())

"""The `stoker` command. Each area registers its subcommands from its own module.

Library code never prints or exits; the functions registered here do.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import StokerError, UsageError

# Modules that define `register(subparsers)`, with the subcommands each adds.
# Only the module of the command being run is imported, so `stoker butane` does
# not pay for openstacksdk's import (half a second).
COMMAND_MODULES = {
    "stoker.boot.cli": ("image", "boot", "boot-test"),
    "stoker.butane.cli": ("butane",),
    "stoker.cloud.cli": ("plan", "deploy", "adopt", "rollback", "status"),
    "stoker.fleet.cli": ("list", "render", "ignition", "validate", "secrets-example"),
    "stoker.rollout.cli": ("rollout", "history"),
}


def _modules_for(argv: list[str]) -> list[str]:
    command = next((a for a in argv if not a.startswith("-")), None)
    wanted = [m for m, names in COMMAND_MODULES.items() if command in names]
    return wanted or list(COMMAND_MODULES)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, with the width found as shutil.get_terminal_size finds it ($COLUMNS,
    then the terminal, then 80 columns) without importing shutil and its compression modules on
    every run: argparse makes a formatter for each add_argument call (start-up of `stoker butane`)."""

    def __init__(self, prog: str, **kwargs):
        if kwargs.get("width") is None:
            kwargs["width"] = _columns() - 2
        super().__init__(prog, **kwargs)


def _columns() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # usage errors exit 2, as the official tools do
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="stoker", description="A Fedora CoreOS fleet as code.")
    parser.add_argument("--version", action="version", version=f"stoker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _modules_for(argv) if argv is not None else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 success, 1 an error or a failed check,
    2 a usage error, 130 interrupted (Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"stoker: {exc}", file=sys.stderr)
        return 2
    except StokerError as exc:
        print(f"stoker: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stoker: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

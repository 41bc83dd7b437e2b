"""The `stoker` command. Each area registers its subcommands from its own module.

Library code never prints or exits; the functions registered here do.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import StokerError, UsageError

# Modules that define `register(subparsers)`; each adds its own subcommands.
COMMAND_MODULES = [
    "stoker.boot.cli",
    "stoker.butane.cli",
    "stoker.cloud.cli",
    "stoker.fleet.cli",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2, as the official tools do
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stoker", description="A Fedora CoreOS fleet as code.")
    parser.add_argument("--version", action="version", version=f"stoker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"stoker: {exc}", file=sys.stderr)
        return 2
    except StokerError as exc:
        print(f"stoker: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The argparse side of the `stoker` command: the parser of every subcommand, with
its help, usage and error messages.

Kept out of stoker.cli so that a plain `stoker butane` run, which stoker.cli parses
without argparse (start-up), never imports argparse and gettext.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .cli import COMMAND_MODULES, _modules_for


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
    """The `stoker` parser. With `argv`, only the module of the command it names
    registers its subcommands (all of them when it names none)."""
    parser = _Parser(prog="stoker", description="A Fedora CoreOS fleet as code.")
    parser.add_argument("--version", action="version", version=f"stoker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _modules_for(argv) if argv is not None else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser

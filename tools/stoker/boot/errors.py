"""Errors raised by the boot package; all are StokerError so the CLI shows them as is."""

from __future__ import annotations

from ..errors import StokerError, UsageError


class BootError(StokerError):
    """Booting or checking a guest failed in a way the user can act on."""


class CommandError(StokerError):
    """A host command failed; the message says which one and why."""

    def __init__(self, message: str, argv: list[str], returncode: int | None, output: str = ""):
        super().__init__(message)
        self.argv = argv
        self.returncode = returncode
        self.output = output


class ImageError(StokerError):
    """Building, fetching or verifying an image failed."""


class ConfigError(StokerError):
    """The Ignition config cannot be booted on the chosen image."""


class MissingProgram(CommandError, UsageError):
    """run() or spawn() found no such program: a CommandError (callers that can do without it
    catch that), and exit 2 at the CLI as a MissingTool. Guest (ssh.py) never swallows it."""


class MissingTool(ImageError, UsageError):
    """Host programs are not installed: `missing` is [(program, Debian package), ...], at least one.

    The message has one line per program, as tools.not_found writes it; exit 2 at the CLI.
    Callers that can do without the program (a test, an optional check) report it as skipped,
    with this message as the reason."""

    def __init__(self, program: str, package: str, needed_for: str = "",
                 also: tuple[tuple[str, str], ...] = ()):
        from .tools import not_found
        self.missing = [(program, package), *also]
        super().__init__("\n".join(not_found(p, k) for p, k in self.missing))
        self.program = program
        self.package = package
        self.needed_for = needed_for


def require_tool(program: str, package: str, needed_for: str) -> str:
    """The path of `program` on PATH, or MissingTool naming its Debian package."""
    import shutil
    path = shutil.which(program)
    if path is None:
        raise MissingTool(program, package, needed_for)
    return path


def unknown_vms(names: list[str], known: list[str]) -> UsageError:
    """The usage error (exit 2) for VM names that are not in vms/: one line naming them and the VMs there are."""
    return UsageError(f"no VM named {', '.join(names)} in vms/ (there are: {', '.join(known) or 'none'})")

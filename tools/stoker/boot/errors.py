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


class MissingTool(ImageError):
    """A host program is not installed; `package` is the Debian package that provides it.

    Callers that can do without the program (a test, an optional check) report
    it as skipped, with this message as the reason.
    """

    def __init__(self, program: str, package: str, needed_for: str):
        super().__init__(f"`{program}` is not installed (Debian package {package}); it is needed for {needed_for}")
        self.program = program
        self.package = package


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

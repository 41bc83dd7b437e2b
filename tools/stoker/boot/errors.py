"""Errors raised by the boot package; all are StokerError so the CLI shows them as is."""

from __future__ import annotations

from ..errors import StokerError


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

"""Errors raised by stoker's cloud code.

Every error names the VM, the server and the step it happened in, and where
it can, says how to recover. openstacksdk's exceptions are wrapped here, at the
boundary, so nothing above this package sees a raw SDK exception.
"""

from __future__ import annotations

from ..errors import StokerError


class CloudError(StokerError):
    """Something failed while talking to the cloud, or stoker refused to."""

    def __init__(self, message: str, *, vm: str | None = None, server: str | None = None,
                 step: str | None = None, hint: str | None = None):
        self.vm, self.server, self.step, self.hint = vm, server, step, hint
        self.detail = message
        super().__init__(self.text())

    def text(self) -> str:
        """The message as shown: where (vm, server, step), what, and how to recover."""
        where = ", ".join(f"{k} {v}" for k, v in (("vm", self.vm), ("server", self.server), ("step", self.step))
                          if v)
        text = f"{where}: {self.detail}" if where else self.detail
        if self.hint:
            text += f"\n  how to recover: {self.hint}"
        return text


class PlacementError(CloudError):
    """The placement data for a VM is missing or wrong."""


class RefusedError(CloudError):
    """stoker refused to deploy before calling the cloud (or before changing it)."""


class UserDataTooLarge(RefusedError):
    """The base64 user-data is over Nova's limit."""


class VolumeSafetyError(RefusedError):
    """The deploy would leave the data volume unattached or wipe it."""


class ApiError(CloudError):
    """The cloud answered with an error (after any retries)."""

    def __init__(self, message: str, *, status: int | None = None, **where):
        self.status = status
        super().__init__(message, **where)


class WaitTimeout(CloudError):
    """A wait (server ACTIVE, volume available, Ignition verdict) ran out of time."""


class IgnitionFailed(CloudError):
    """The console log shows Ignition failed on the server."""

"""The small hierarchy of errors stoker's library code raises.

The CLI catches StokerError and prints its message; anything else is a bug.
"""


class StokerError(Exception):
    """An error the user can act on; its message is shown as is."""


class UsageError(StokerError):
    """The command line itself is wrong (exit code 2)."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal: `signame` is "SIGINT", "SIGTERM" or "SIGHUP"; `note` says
    what was done about it. A KeyboardInterrupt, so code that cleans up on Ctrl-C does so here too.
    The CLI prints "stoker: <message>" and exits 128 + the signal's number."""

    def __init__(self, signame: str = "SIGINT", note: str = ""):
        super().__init__(signame, note)
        self.signame = signame
        self.note = note

    def __str__(self) -> str:
        return f"interrupted by {self.signame}" + (f": {self.note}" if self.note else "")

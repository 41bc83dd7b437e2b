"""The small hierarchy of errors stoker's library code raises.

The CLI catches StokerError and prints its message; anything else is a bug.
"""


class StokerError(Exception):
    """An error the user can act on; its message is shown as is."""


class UsageError(StokerError):
    """The command line itself is wrong (exit code 2)."""

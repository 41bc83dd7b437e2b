"""Errors about the fleet's definitions, each pointing at file, line and column."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import StokerError


ERROR, WARNING = "error", "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a file the operator edits: `file` is relative to the
    repository root (or the path given for a file outside it), line and column
    are 1-based or None when the finding is about the whole file."""

    file: str
    line: int | None
    column: int | None
    message: str
    kind: str = ERROR  # ERROR or WARNING

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        prefix = "warning: " if self.kind == WARNING else ""
        return f"{where}: {prefix}{self.message}"

    @classmethod
    def at(cls, where: tuple | None, fallback_file: str, message: str, kind: str = ERROR) -> "Problem":
        """A problem at a `(file, line, column)` mark, or at the top of `fallback_file`."""
        if not where:
            return cls(fallback_file, None, None, message, kind)
        return cls(where[0], where[1], where[2], message, kind)


class FleetError(StokerError):
    """One or more problems in the fleet's definitions; never carries a secret value."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class Collector:
    """Gathers problems so a user sees all of them at once, then raises."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, where: tuple[int, int] | None, message: str) -> None:
        line, col = where if where else (None, None)
        self.problems.append(Problem(file, line, col, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == ERROR]

    def raise_if_any(self) -> None:
        """Raise when any problem is an error (warnings alone do not stop anything)."""
        if self.errors:
            raise FleetError(self.problems)

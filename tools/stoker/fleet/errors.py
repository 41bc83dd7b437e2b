"""Errors about the fleet's definitions, each pointing at file, line and column."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import StokerError


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.message}"


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

    def raise_if_any(self) -> None:
        if self.problems:
            raise FleetError(self.problems)

"""Diagnostics collected while processing a config, never raised one by one.

A path is a tuple of keys and list indexes, for example
("storage", "files", 0, "path"); `format_path` renders it as "$.storage.files.0.path".
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"
INFO = "info"

Path = tuple  # tuple[str | int, ...]


def format_path(path: Path) -> str:
    return "$" + "".join(f".{p}" for p in path)


@dataclass(frozen=True)
class Entry:
    kind: str  # ERROR, WARNING or INFO
    path: Path | None
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def raw(self) -> str:
        """One line, as the official Butane prints it with --raw-errors."""
        where = ""
        if self.path is not None:
            where = " " + format_path(self.path)
        if self.line is not None:
            where += ("," if self.path is not None else "") + f" line {self.line} col {self.column}"
        return f"{self.kind} at{where}: {self.message}"


@dataclass
class Report:
    entries: list[Entry] = field(default_factory=list)

    def add(self, kind: str, path: Path | None, message: str, line: int | None = None,
            column: int | None = None) -> None:
        self.entries.append(Entry(kind, path, message, line, column))

    def error(self, path: Path | None, message: str) -> None:
        self.add(ERROR, path, message)

    def warning(self, path: Path | None, message: str) -> None:
        self.add(WARNING, path, message)

    def extend(self, other: "Report | list[Entry]") -> None:
        self.entries.extend(other.entries if isinstance(other, Report) else other)

    @property
    def has_errors(self) -> bool:
        return any(e.kind == ERROR for e in self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

"""Diagnostics collected while processing a config, never raised one by one.

A path is a tuple of keys and list indexes, for example
("storage", "files", 0, "path"); `format_path` renders it as "$.storage.files.0.path".
"""

from __future__ import annotations

from .values import Value

ERROR = "error"
WARNING = "warning"
INFO = "info"

Path = tuple  # tuple[str | int, ...]


def format_path(path: Path) -> str:
    return "$" + "".join(f".{p}" for p in path)


class Entry(Value):
    """One finding: kind (ERROR, WARNING or INFO), the path it is about (or None), the
    message, and the 1-based line and column it points at (None when unknown).

    Immutable, compared and hashed by value (stoker.values: not a dataclass, for
    `stoker butane`'s start-up)."""

    __slots__ = ("kind", "path", "message", "line", "column")

    def __init__(self, kind: str, path: Path | None, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        _set = object.__setattr__
        _set(self, "kind", kind)
        _set(self, "path", path)
        _set(self, "message", message)
        _set(self, "line", line)
        _set(self, "column", column)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}: an Entry is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}: an Entry is immutable")

    def raw(self) -> str:
        """One line, as the official Butane prints it with --raw-errors."""
        where = ""
        if self.path is not None:
            where = " " + format_path(self.path)
        if self.line is not None:
            where += ("," if self.path is not None else "") + f" line {self.line} col {self.column}"
        return f"{self.kind} at{where}: {self.message}"


class Report(Value):
    """The entries found, in order."""

    __slots__ = ("entries",)
    __hash__ = None  # mutable

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries = [] if entries is None else entries

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

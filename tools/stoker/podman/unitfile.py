"""Read a Quadlet (systemd-style) unit file into its section/key entries.

    parse_unit_sections("[Container]\\nImage=a/b:1\\n# note\\nExec=sh -c \\\\\\n  'true'\\n")
      -> [Entry("Container", "Image", 2, "a/b:1"), Entry("Container", "Exec", 4, "sh -c 'true'")]

Each entry is a named tuple (section, key, line, value): `line` is the first
physical line of the entry, 1-based; repeated keys and repeated sections give
one entry per line, in file order. Raises UnitSyntaxError (ValueError) with the
line number for a line Podman's parser refuses.

Syntax, as Podman's Quadlet reads it (pkg/systemd/parser/unitfile.go, podman
v5.8.2; the same rules as systemd.syntax(7) for what stoker writes): every line
is trimmed; empty lines and lines starting with "#" or ";" are comments, also
inside a continued value; a trailing "\\" joins the line to the next one
(Podman joins them without the backslash, systemd puts a space there: stoker
never relies on the difference); a key ends at the first "=", trailing blanks
dropped, and the value starts after leading blanks; "[Name]" opens a section and
may be followed by blanks only; a key before the first section is an error.
"""

from __future__ import annotations

from typing import NamedTuple


class UnitSyntaxError(ValueError):
    """A line of the unit file is neither a comment, a [section] nor a key=value pair."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.detail = message


class Entry(NamedTuple):
    section: str
    key: str
    line: int
    value: str


def parse_unit_sections(text: str) -> list[Entry]:
    """Every key=value entry of the unit file, with its section and first line number."""
    entries: list[Entry] = []
    section: str | None = None
    pending = ""          # a value continued with a trailing backslash
    pending_line = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if _is_comment(line):
            continue  # Podman skips comments inside a continued value too
        if line.endswith("\\") and number != len(lines):
            if not pending:
                pending_line = number
            pending += line[:-1]
            continue
        if line.endswith("\\"):
            line = line[:-1]  # a backslash on the last line continues nothing
        if pending:
            line, start = pending + line, pending_line
            pending = ""
        else:
            start = number
        section = _parse_line(line, start, section, entries)
    if pending:
        _parse_line(pending, pending_line, section, entries)
    return entries


def _parse_line(line: str, number: int, section: str | None, entries: list[Entry]) -> str | None:
    """Add the entry on `line` (if any); return the section in force after it."""
    if line.startswith("["):
        end = line.find("]")
        if end != -1 and not line[end + 1:].strip(" \t"):
            name = line[1:end]
            if not name or "[" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
                raise UnitSyntaxError(number, f"invalid section name [{name}]")
            return name
    eq = line.find("=")
    if eq <= 0:
        raise UnitSyntaxError(number, f'"{line}" is not a key=value pair, a [section] or a comment')
    if section is None:
        raise UnitSyntaxError(number, f'"{line}" comes before the first [section]')
    key = line[:eq].rstrip()
    if not key or key[0] == " ":
        raise UnitSyntaxError(number, f'invalid key name "{key}"')
    entries.append(Entry(section, key, number, line[eq + 1:].lstrip()))
    return section


def _is_comment(line: str) -> bool:
    return not line or line[0] in "#;"

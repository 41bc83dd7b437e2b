"""Rendering a report the way the official tool prints it (SPEC §0.9; butane
v0.29.0 internal/report/report.go)."""

from __future__ import annotations

from ..report import Entry, format_path

# Go's unicode.IsSpace in Latin-1; beyond it, Unicode's White_Space (str.isspace)
_LATIN1_SPACE = "\t\n\v\f\r \x85\xa0"


def raw(entries: list[Entry]) -> str:
    return "".join(e.raw() + "\n" for e in entries)


def pretty(entries: list[Entry], source: str, filename: str) -> str:
    """Each entry as a block with the file position, ±2 lines of context and the
    underline; an entry without a position, or whose column is past its line's
    end, as its raw line. As report.go does, the column (characters) is taken as
    a byte offset into the line: the underline runs from there, in bytes, to the
    next space, so a column at a space (or inside a multibyte character that
    decodes to one) gets no carets."""
    lines = source.split("\n")
    blocks = []
    for e in entries:
        if e.line is None or not 1 <= e.line <= len(lines) or e.column is None \
                or not 1 <= e.column <= len(_bytes(lines[e.line - 1])):
            blocks.append(e.raw())
            continue
        header = f"{e.kind}[{format_path(e.path)}]:" if e.path else f"{e.kind}:"
        first, last = max(1, e.line - 2), min(len(lines), e.line + 2)
        width = len(str(last))
        pad = " " * width
        out = [header, f"  --> {filename}:{e.line}:{e.column}", f" {pad} |"]
        for n in range(first, last + 1):
            text = lines[n - 1]
            out.append(f" {str(n).rjust(width)} | {text}")
            if n == e.line:
                span = _to_space(_bytes(text)[e.column - 1:])
                out.append(f" {pad} | {' ' * (e.column - 1)}{'^' * span} {e.message}")
        out.append(f" {pad} |")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _to_space(rest: bytes) -> int:
    """strings.IndexFunc(rest, unicode.IsSpace), or len(rest): bytes up to the
    first space, reading runes as Go does (a byte that starts no valid UTF-8
    sequence is one RuneError)."""
    i = 0
    while i < len(rest):
        for size in (1, 2, 3, 4):
            try:
                c = rest[i:i + size].decode("utf-8")
                break
            except UnicodeDecodeError:
                continue
        else:
            c, size = "\ufffd", 1
        if c in _LATIN1_SPACE or ord(c) > 0xFF and c.isspace():
            return i
        i += size
    return len(rest)

"""Rendering a report the way the official tool prints it (SPEC §0.9)."""

from __future__ import annotations

from ..report import Entry, format_path


def raw(entries: list[Entry]) -> str:
    return "".join(e.raw() + "\n" for e in entries)


def pretty(entries: list[Entry], source: str, filename: str) -> str:
    """Each entry as a block with the file position, ±2 lines of context and a caret."""
    lines = source.split("\n")
    blocks = []
    for e in entries:
        if e.line is None or e.line > len(lines):
            blocks.append(e.raw())
            continue
        header = f"{e.kind}[{format_path(e.path)}]:" if e.path is not None else f"{e.kind}:"
        first, last = max(1, e.line - 2), min(len(lines), e.line + 2)
        width = len(str(last))
        pad = " " * width
        out = [header, f"  --> {filename}:{e.line}:{e.column}", f" {pad} |"]
        for n in range(first, last + 1):
            text = lines[n - 1]
            out.append(f" {str(n).rjust(width)} | {text}")
            if n == e.line:
                rest = text[e.column - 1:]
                span = len(rest.split(None, 1)[0]) if rest.strip() and not rest[0].isspace() else 1
                out.append(f" {pad} | {' ' * (e.column - 1)}{'^' * span} {e.message}")
        out.append(f" {pad} |")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + ("\n" if blocks else "")

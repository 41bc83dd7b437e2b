"""Go's formatting and path helpers that Ignition's messages and checks depend on."""

from __future__ import annotations


def go_quote(text: str) -> str:
    """Go's %q for a string: double quotes, backslash escapes, printable runes raw."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x80 or _printable(ch):
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _printable(ch: str) -> bool:
    # Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
    import unicodedata  # here: only messages quoting non-ASCII text need it (start-up)

    return unicodedata.category(ch)[0] in "LMNPS"


def clean_path(path: str) -> str:
    """Go's path.Clean: the shortest equivalent slash path."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(segment)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or "."


def join_path(*elements: str) -> str:
    """Go's path.Join: join the non-empty elements with slashes, then clean."""
    joined = "/".join(e for e in elements if e)
    return clean_path(joined) if joined else ""


def extension(name: str) -> str:
    """Go's path.Ext: the suffix from the last dot of the last element, or ""."""
    for i in range(len(name) - 1, -1, -1):
        if name[i] == "/":
            break
        if name[i] == ".":
            return name[i:]
    return ""

"""YAML syntax errors worded as Butane prints them: yaml.v3 v3.0.1's libyaml port
names the problem only, after a line computed its own way.

PyYAML, a port of the same C library, finds the same faults at the same marks;
only its wording differs. `problem()` maps PyYAML's error to libyaml's problem
text with the table below (vendor/gopkg.in/yaml.v3 scannerc.go, parserc.go),
and `where()` gives the "line N: " prefix as decode.go parser.fail computes it:
the context mark's line if it is not the first line, else the problem mark's;
0-based for parser errors, 1-based for scanner errors (the scanner has not
counted the line yet); nothing when both are on the first line.

Loaded only when a document fails to parse (start-up of `stoker butane`).
"""

from __future__ import annotations

import re

# (PyYAML context, PyYAML problem) patterns -> libyaml's problem. The first match
# wins; a context of None matches any context.
_SCANNER = (
    (None, r"found character .* that cannot start any token",
     "found character that cannot start any token"),
    (None, r"could not find expected ':'", "could not find expected ':'"),
    (None, r"sequence entries are not allowed here",
     "block sequence entries are not allowed in this context"),
    (None, r"mapping keys are not allowed here", "mapping keys are not allowed in this context"),
    (None, r"mapping values are not allowed here",
     "mapping values are not allowed in this context"),
    (r"while scanning an (anchor|alias)", r"expected alphabetic or numeric character.*",
     "did not find expected alphabetic or numeric character"),
    (r"while scanning a directive", r"expected a digit or '\.'.*",
     "did not find expected digit or '.' character"),
    (r"while scanning a directive", r"expected a digit or ' '.*",
     "did not find expected comment or line break"),
    (r"while scanning a directive", r"expected a digit, .*", "did not find expected version number"),
    (r"while scanning a directive", r"expected a comment or a line break.*",
     "did not find expected comment or line break"),
    (r"while scanning a directive", r"expected '!'.*", "did not find expected '!'"),
    (r"while parsing a tag", r"expected '>'.*", "did not find the expected '>'"),
    (r"while scanning a tag", r"expected ' '.*", "did not find expected whitespace or line break"),
    (None, r"expected '!'.*", "did not find expected '!'"),
    (None, r"expected URI escape sequence.*", "did not find URI escaped octet"),
    (None, r"expected URI,.*", "did not find expected tag URI"),
    (r"while scanning a (tag|directive)", r".*codec can't decode.*",
     "found an incorrect leading UTF-8 octet"),
    (r"while scanning a block scalar", r"expected indentation indicator in the range 1-9.*",
     "found an indentation indicator equal to 0"),
    (r"while scanning a block scalar", r"expected (chomping or indentation indicators|a comment "
     r"or a line break).*", "did not find expected comment or line break"),
    (None, r"expected escape sequence of .* hexadecimal numbers.*",
     "did not find expected hexdecimal number"),
    (None, r"found unknown escape character.*", "found unknown escape character"),
    (None, r"found unexpected end of stream", "found unexpected end of stream"),
    (None, r"found unexpected document separator", "found unexpected document indicator"),
    (None, r"found a tab character where an indentation space is expected",
     "found a tab character where an indentation space is expected"),
    (None, r"found a tab character that violates indentation",
     "found a tab character that violates indentation"),
)

_PARSER = (
    (None, r"expected '<document start>'.*", "did not find expected <document start>"),
    (None, r"found duplicate YAML directive", "found duplicate %YAML directive"),
    (None, r"found incompatible YAML document.*", "found incompatible YAML document"),
    (None, r"duplicate tag handle.*", "found duplicate %TAG directive"),
    (None, r"found undefined tag handle.*", "found undefined tag handle"),
    (None, r"expected the node content.*", "did not find expected node content"),
    (r"while parsing a block collection", r"expected <block end>.*",
     "did not find expected '-' indicator"),
    (r"while parsing a block mapping", r"expected <block end>.*", "did not find expected key"),
    (r"while parsing a flow sequence", r".*", "did not find expected ',' or ']'"),
    (r"while parsing a flow mapping", r".*", "did not find expected ',' or '}'"),
)


def problem(exc, scanner: bool) -> str:
    """libyaml's problem text for PyYAML's MarkedYAMLError `exc`."""
    context, text = exc.context or "", exc.problem or ""
    for want_context, pattern, libyaml in _SCANNER if scanner else _PARSER:
        if (want_context is None or re.fullmatch(want_context, context)) \
                and re.fullmatch(pattern, text, re.S):
            return libyaml
    if scanner and context == "while scanning a directive" and text.startswith("expected ' '"):
        return _tag_directive_space(exc)
    return text or context or "unknown problem parsing YAML content"


def _tag_directive_space(exc) -> str:
    """A %TAG directive wants a blank after its handle, then after its prefix."""
    buffer = getattr(exc.problem_mark, "buffer", None)
    start, end = exc.context_mark.index, exc.problem_mark.index
    words = buffer[start:end].split() if buffer else []
    return ("did not find expected whitespace or line break" if len(words) >= 3
            else "did not find expected whitespace")


def where(exc, scanner: bool, text: str) -> str:
    """decode.go parser.fail's "line N: " for `exc` (or "")."""
    def line_of(mark):
        if mark is None:
            return 0
        line = mark.line
        if not scanner and mark.index >= len(text) and mark.column != 0:
            line += 1  # libyaml starts a new line before the end of the stream
        return line

    line = line_of(exc.context_mark) or line_of(exc.problem_mark)
    if line and scanner:
        line += 1
    return f"line {line}: " if line else ""


def decoding_problem(data: bytes) -> str:
    """The reader error libyaml (readerc.go) gives for input it cannot decode:
    UTF-16 after that byte order mark, else UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _utf16_problem(data)
    return _utf8_fault(data)[1]


def _utf8_fault(data: bytes) -> tuple[int, str]:
    """The offset of the first sequence libyaml cannot decode, and its problem."""
    i, n = 0, len(data)
    while i < n:
        octet = data[i]
        if octet < 0x80:
            i += 1
            continue
        if octet & 0xE0 == 0xC0:
            width, value = 2, octet & 0x1F
        elif octet & 0xF0 == 0xE0:
            width, value = 3, octet & 0x0F
        elif octet & 0xF8 == 0xF0:
            width, value = 4, octet & 0x07
        else:
            return i, "invalid leading UTF-8 octet"
        if i + width > n:
            return i, "incomplete UTF-8 octet sequence"
        for k in range(1, width):
            if data[i + k] & 0xC0 != 0x80:
                return i, "invalid trailing UTF-8 octet"
            value = (value << 6) + (data[i + k] & 0x3F)
        if value < (0, 0, 0x80, 0x800, 0x10000)[width]:
            return i, "invalid length of a UTF-8 sequence"
        if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
            return i, "invalid Unicode character"
        i += width
    return n, "invalid leading UTF-8 octet"


# readerc.go decodes its input 512 bytes at a time (input_raw_buffer_size), a
# character cut at the end of one read carried to the next, and only when the
# scanner needs more characters (up to 4 ahead).
_CHUNK, _AHEAD = 512, 4


def _chunk_start(data: bytes, k: int) -> int:
    """The offset of the read that holds byte `k`."""
    start = 0
    while start + _CHUNK <= k:
        end = start + _CHUNK
        lead = end - 1
        while lead > end - 4 and data[lead] & 0xC0 == 0x80:
            lead -= 1
        octet = data[lead]
        width = 2 if octet & 0xE0 == 0xC0 else 3 if octet & 0xF0 == 0xE0 else \
            4 if octet & 0xF8 == 0xF0 else 1
        start = lead if lead + width > end else end
    return start


def _control(c: str) -> bool:
    o = ord(c)
    return not (o in (0x09, 0x0A, 0x0D, 0x85) or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF
                or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF)


def undecodable(data: bytes, compose) -> tuple[str | None, str | None]:
    """UTF-8 input libyaml cannot decode, as yaml.v3 meets it: (the error, None),
    the reader's or a syntax error the scanner meets before the reader reaches
    the bad bytes; or (None, text) when the first document ends before that
    (text: the input, bad bytes and control characters replaced).
    `compose(text, reach)` composes as source._compose_python does."""
    k, problem = _utf8_fault(data)
    text = data.decode("utf-8", "replace")
    before = len(data[:k].decode("utf-8"))  # the characters before the bad bytes
    control = next((i for i, c in enumerate(text) if _control(c)), len(text))
    if control < before:  # met first, where its read is decoded
        k, problem = len(text[:control].encode("utf-8")), "control characters are not allowed"
    decoded = len(data[:_chunk_start(data, k)].decode("utf-8"))  # given before that read
    reader = "yaml: " + problem
    text = "".join("\ufffd" if _control(c) else c for c in text)
    reach: list[int] = []
    try:
        compose(text, reach)
    except Exception as exc:  # noqa: BLE001 - a YamlError, or the reader's error below
        if reach and reach[0] + _AHEAD <= decoded:
            return str(exc), None
        return reader, None
    if reach and reach[0] + _AHEAD <= decoded:
        return None, text
    return reader, None


def _utf16_problem(data: bytes) -> str:
    order = "little" if data[:2] == b"\xff\xfe" else "big"
    i, n = 2, len(data)
    while i < n:
        if i + 2 > n:
            return "incomplete UTF-16 character"
        value = int.from_bytes(data[i:i + 2], order)
        if value & 0xFC00 == 0xDC00:
            return "unexpected low surrogate area"
        if value & 0xFC00 == 0xD800:
            if i + 4 > n:
                return "incomplete UTF-16 surrogate pair"
            if int.from_bytes(data[i + 2:i + 4], order) & 0xFC00 != 0xDC00:
                return "expected low surrogate area"
            i += 2
        i += 2
    return "incomplete UTF-16 character"

"""stoker.ignition.unitfile's lexer reads whole runs (the option name up to "=", the
whitespace between options) where go-systemd's deserializer reads one character at a
time (start-up of `stoker butane`). A plain character-by-character reading, as the
lexer was first written, is the reference: both give the same options or the same
error on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.ignition.goformat import go_quote
from stoker.ignition.unitfile import LINE_MAX, UnitContentError, deserialize


def reference(text: str):
    """[(section, name, value)], or the error message."""
    pos, options = 0, []

    def to_eol():
        nonlocal pos
        end = text.find("\n", pos)
        line, pos = (text[pos:], len(text)) if end < 0 else (text[pos:end], end + 1)
        if len(line.encode()) > LINE_MAX:
            raise UnitContentError(f"line too long (max {LINE_MAX} bytes)")
        return line

    def section_name():
        nonlocal pos
        name = []
        while True:
            if pos >= len(text):
                raise UnitContentError("unable to find end of section")
            ch, pos = text[pos], pos + 1
            if ch == "]":
                break
            if ch in "\r\n":
                raise UnitContentError("unable to find end of section")
            name.append(ch)
        garbage = to_eol().strip()
        if garbage:
            raise UnitContentError(f"found garbage after section name : {go_quote(garbage)}")
        return "".join(name)

    def skip_line():
        nonlocal pos
        end = text.find("\n", pos)
        pos = len(text) if end < 0 else end + 1

    try:
        while pos < len(text):
            ch, pos = text[pos], pos + 1
            if ch == "[":
                section = section_name()
                while pos < len(text):
                    ch, pos = text[pos], pos + 1
                    if ch.isspace():
                        continue
                    if ch == "[":
                        section = section_name()
                        continue
                    if ch in "#;":
                        skip_line()
                        continue
                    start = pos = pos - 1  # the name starts with this character
                    while True:
                        if pos >= len(text):
                            raise UnitContentError("EOF")
                        ch, pos = text[pos], pos + 1
                        if ch in "\r\n":
                            raise UnitContentError("unexpected newline encountered while parsing "
                                                   "option name")
                        if ch == "=":
                            break
                    name, parts = text[start:pos - 1].strip(), []
                    while True:
                        at_eof = pos >= len(text)
                        line = to_eol()
                        if not line.strip():
                            break
                        parts.append(line)
                        if not line.endswith("\\") or at_eof:
                            break
                    options.append((section, name, " ".join(p.rstrip("\\") for p in parts).strip()))
                break
            if ch in "#;":
                skip_line()
    except UnitContentError as exc:
        return str(exc)
    return options


def lexed(text: str):
    try:
        return [(o.section, o.name, o.value) for o in deserialize(text)]
    except UnitContentError as exc:
        return str(exc)


PIECES = ["[Unit]", "[Service]", "[", "]", "=", "\n", "\r", "\r\n", "\\", "\\\n", "#", ";", " ", "\t",
          "\x0b", "\x1c", "\u2028", "\u00a0", "Name", "Value=x", "a b", "é", "x" * 700]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_same_options_and_errors_as_reading_one_character_at_a_time(text):
    assert lexed(text) == reference(text)


def test_a_unit():
    text = ("# comment\n[Unit]\nDescription=An  app \\\n  on two lines\n\n[Service]\n"
            "ExecStart=/bin/app\n ; note\nEnvironment=A=1\n")
    assert lexed(text) == reference(text) == [
        ("Unit", "Description", "An  app    on two lines"), ("Service", "ExecStart", "/bin/app"),
        ("Service", "Environment", "A=1")]

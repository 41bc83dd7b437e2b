"""YAML text as Go's gopkg.in/yaml.v3 (v3.0.1) writes it, for the value shapes a
JSON round trip gives: dicts with string keys, lists, str, int, float, bool and
None. Butane writes the openshift MachineConfig this way (SPEC-VARIANTS §7.5):
the config is marshalled to JSON, read back into generic values (every number
becomes a float64) and encoded with an indent of 2.

    text = dumps({"spec": {"fips": True}})   # "spec:\n  fips: true\n"

What it reproduces, and where the official behaviour comes from (paths in
coreos/butane v0.29.0):
- key order: vendor/gopkg.in/yaml.v3/sorter.go (not byte order; see `key_less`);
- the style asked for: vendor/gopkg.in/yaml.v3/encode.go (`stringv`: a literal
  block for text with a newline, plain when the text would read back as the same
  string, else double quotes; `floatv`: Go's shortest %g);
- what a plain scalar reads back as: vendor/gopkg.in/yaml.v3/resolve.go;
- the style finally written and the writers: vendor/gopkg.in/yaml.v3/emitterc.go
  (`yaml_emitter_analyze_scalar`, `yaml_emitter_select_scalar_style`, the
  write_* functions, indentation); the character classes of yamlprivateh.go.
The width is unlimited (apic.go sets best_width -1), so nothing is folded.

Raises TypeError for a value of any other type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cmp_to_key

__all__ = ["dumps", "key_less", "sort_keys", "format_number", "plain_reads_as_string"]

BEST_INDENT = 2
PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"
_BREAKS = "\r\n\x85\u2028\u2029"
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value) -> str:
    """The YAML document yaml.v3's Encoder writes for `value` at indent 2,
    ending in a newline."""
    emitter = _Emitter()
    emitter.node(_valid_utf8(value), _Context())
    emitter.write_indent()  # the document end
    return "".join(emitter.out)


def _valid_utf8(value):
    """Text as JSON brings it back: bytes that were not UTF-8 (kept by Python as
    lone surrogates) are U+FFFD, in keys too."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if not value.isascii() else value
    if isinstance(value, dict):
        return {_valid_utf8(k): _valid_utf8(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_utf8(v) for v in value]
    return value


# -- key order (sorter.go) ------------------------------------------------------------

def _is_letter(c: str) -> bool:
    return unicodedata.category(c)[0] == "L"  # Go unicode.IsLetter


def _is_digit(c: str) -> bool:
    return unicodedata.category(c) == "Nd"  # Go unicode.IsDigit


def _int64(n: int) -> int:
    """Go's int64 arithmetic wraps around."""
    return (n + 2 ** 63) % 2 ** 64 - 2 ** 63


def key_less(a: str, b: str) -> bool:
    """yaml.v3's order of two string keys: at the first difference two letters
    compare by code point; a letter sorts after a non-letter, except right after
    a digit, where it sorts first; otherwise the digit runs starting there
    compare as numbers, then by length, then by code point. A prefix sorts first.
    So `_x` < `Zone` < `a-b` < `a_b` < `ab` and `node9` < `node09` < `node10`."""
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = _is_digit(ca)
            continue
        la, lb = _is_letter(ca), _is_letter(cb)
        if la and lb:
            return ca < cb
        if la or lb:
            return la if digits else lb
        na = nb = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    na = nb = 1
                    break
                j -= 1
        ea = i
        while ea < len(a) and _is_digit(a[ea]):
            na = _int64(na * 10 + ord(a[ea]) - ord("0"))
            ea += 1
        eb = i
        while eb < len(b) and _is_digit(b[eb]):
            nb = _int64(nb * 10 + ord(b[eb]) - ord("0"))
            eb += 1
        if na != nb:
            return na < nb
        if ea != eb:
            return ea < eb
        return ca < cb
    return len(a) < len(b)


def sort_keys(keys) -> list[str]:
    """Keys in yaml.v3's order. Go's sort.Sort is an insertion sort up to 12
    items, done the same way here; longer lists use Python's sort, which agrees
    whenever the order is consistent."""
    keys = list(keys)
    if len(keys) <= 12:
        for i in range(1, len(keys)):
            j = i
            while j > 0 and key_less(keys[j], keys[j - 1]):
                keys[j], keys[j - 1] = keys[j - 1], keys[j]
                j -= 1
        return keys
    return sorted(keys, key=cmp_to_key(lambda x, y: -1 if key_less(x, y) else
                                       1 if key_less(y, x) else 0))


# -- numbers (encode.go floatv, strconv.FormatFloat(f, 'g', -1, 64)) ------------------

def format_number(value: int | float) -> str:
    """A JSON number as yaml.v3 writes the float64 it became: Go's shortest %g,
    so 1048576 -> "1.048576e+06", 100000 -> "100000"."""
    f = float(value)
    if f != f:
        return ".nan"
    if f in (float("inf"), float("-inf")):
        return ".inf" if f > 0 else "-.inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digits_t, exp = Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digits_t))
    point = len(digits) + exp  # the decimal point's position in the digits
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point >= len(digits):
        return neg + digits + "0" * (point - len(digits))
    if point > 0:
        return f"{neg}{digits[:point]}.{digits[point:]}"
    return f"{neg}0.{'0' * -point}{digits}"


# -- what a plain scalar reads back as (resolve.go, encode.go stringv) ---------------

_RESOLVE_MAP = {"true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null",
                "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
                "+.INF", "-.inf", "-.Inf", "-.INF"}
_OLD_BOOLS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
              "n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_DOT_FLOAT = re.compile(r"\.[0-9_]*([eE][-+]?[0-9][0-9_]*)?")


def plain_reads_as_string(s: str) -> bool:
    """Whether yaml.v3 writes `s` plain (if the emitter allows): it reads back as
    a string and is neither a YAML 1.1 boolean spelling nor base-60-like."""
    return _resolves_to_str(s) and s not in _OLD_BOOLS and not _is_base60(s)


def _is_base60(s: str) -> bool:
    return bool(s) and (s[0] in "+-" or "0" <= s[0] <= "9") and ":" in s \
        and _BASE60.fullmatch(s) is not None


def _resolves_to_str(s: str) -> bool:
    if s == "":
        return False
    first = s[0]
    if first in "+-":
        hint = "S"
    elif "0" <= first <= "9":
        hint = "D"
    elif first in "yYnNtTfFoO~":
        hint = "M"
    elif first == ".":
        hint = "."
    else:
        return True
    if s in _RESOLVE_MAP:
        return False
    if hint == "M":
        return True
    if hint == ".":
        return not _go_parse_float_dot(s)
    if _go_timestamp(s):
        return False
    plain = s.replace("_", "")
    if _go_parse_int(plain):
        return False
    if _YAML_FLOAT.fullmatch(plain) and abs(float(plain)) != float("inf"):
        return False
    # resolve.go then parses what follows 0b/0o with an explicit base, where
    # strconv accepts a sign: "0b+1" and "0o-7" are integers too
    for prefix, base in (("0b", 2), ("0o", 8)):
        if plain.startswith(prefix):
            return not _go_parse_int_base(plain[2:], base)
        if plain.startswith("-" + prefix):
            return not _go_parse_int_base("-" + plain[3:], base)
    return True


def _go_parse_int_base(s: str, base: int) -> bool:
    """strconv.ParseInt(s, base, 64) or strconv.ParseUint(s, base, 64) succeeds."""
    signed = s[:1] in ("+", "-")
    body = s[1:] if signed else s
    if not body or any(c not in "01234567"[:base] for c in body):
        return False
    n = int(body, base)
    if s[:1] == "-":
        return n <= 2 ** 63
    return n < (2 ** 63 if signed else 2 ** 64)


def _go_parse_int(s: str) -> bool:
    """strconv.ParseInt(s, 0, 64) or strconv.ParseUint(s, 0, 64) succeeds."""
    signed = s[:1] in ("+", "-")
    negative = s[:1] == "-"
    body = s[1:] if signed else s
    if not body:
        return False
    base = 10
    if body[0] == "0":
        prefix = body[1:2].lower()
        if len(body) >= 3 and prefix in ("b", "o", "x"):
            base, body = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
        else:
            base, body = 8, body[1:]
    valid = "0123456789abcdefABCDEF"[:base] if base <= 10 else "0123456789abcdefABCDEF"
    if any(c not in valid for c in body):
        return False
    n = int(body, base) if body else 0
    if negative:
        return n <= 2 ** 63
    return n < (2 ** 63 if signed else 2 ** 64)


def _underscore_ok(s: str) -> bool:
    """Go strconv's rule: an underscore only between digits (or after a base prefix)."""
    saw, i = "^", 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexa = 2, "0", s[1].lower() == "x"
    for c in s[i:]:
        if "0" <= c <= "9" or hexa and c.lower() in "abcdef":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


def _go_parse_float_dot(s: str) -> bool:
    """strconv.ParseFloat(s, 64) succeeds, for a string starting with '.'."""
    m = _DOT_FLOAT.fullmatch(s)
    if m is None:
        return False
    mantissa = s[:m.start(1)] if m.group(1) else s
    if not any("0" <= c <= "9" for c in mantissa) or "_" in s and not _underscore_ok(s):
        return False
    return abs(float(s.replace("_", ""))) != float("inf")


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_timestamp(s: str) -> bool:
    """yaml.v3's parseTimestamp: Go's time.Parse with one of
    2006-1-2T15:4:5.999999999Z07:00, the same with a lower-case t,
    2006-1-2 15:4:5.999999999, or 2006-1-2. As the Go that builds Butane v0.29.0
    (1.24, its go.mod) parses: any number of fraction digits, a zone offset of at
    most 24 hours and 60 minutes."""
    if not (len(s) > 4 and s[:4].isascii() and s[:4].isdigit() and s[4] == "-"):
        return False
    return any(_parse_layout(s, layout) for layout in ("T", "t", " ", ""))


def _getnum(v: str, fixed: bool) -> tuple[int, str] | None:
    if not v[:1].isascii() or not v[:1].isdigit():
        return None
    if not (v[1:2].isascii() and v[1:2].isdigit()):
        return None if fixed else (int(v[0]), v[1:])
    return int(v[:2]), v[2:]


def _parse_layout(s: str, sep: str) -> bool:
    """One of the four layouts of _go_timestamp: `sep` is "T", "t" or " " before
    the time, or "" for a date alone."""
    year, v = int(s[:4]), s[5:]
    parts = []
    for i, (lo, hi) in enumerate(((1, 12), (1, 31))):
        got = _getnum(v, False)
        if got is None:
            return False
        n, v = got
        parts.append(n)
        if i == 0:
            if not (lo <= n <= hi) or not v.startswith("-"):
                return False
            v = v[1:]
    month, day = parts
    if sep:
        if sep == " ":
            if v and v[0] != " ":
                return False
            v = v.lstrip(" ")
        elif not v.startswith(sep):
            return False
        else:
            v = v[1:]
        for i, limit in enumerate((24, 60, 60)):
            got = _getnum(v, False)
            if got is None or got[0] >= limit:
                return False
            v = got[1]
            if i < 2:
                if not v.startswith(":"):
                    return False
                v = v[1:]
        if len(v) >= 2 and v[0] in ".," and "0" <= v[1] <= "9":
            v = v[1:].lstrip("0123456789")  # any number of digits (Go 1.20+)
        if sep != " ":
            if v.startswith("Z"):
                v = v[1:]
            else:
                if len(v) < 6 or v[3] != ":" or v[0] not in "+-":
                    return False
                hour, minute = _getnum(v[1:3], True), _getnum(v[4:6], True)
                if hour is None or minute is None or hour[0] > 24 or minute[0] > 60:
                    return False
                v = v[6:]
    if v:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0)


# -- scalar analysis (emitterc.go yaml_emitter_analyze_scalar) -----------------------

def _printable(c: str) -> bool:
    o = ord(c)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF \
        or 0xE000 <= o <= 0xFFFD and o != 0xFEFF


@dataclass
class _Analysis:
    multiline: bool
    block_plain: bool
    single: bool
    block: bool


def _analyze(s: str) -> _Analysis:
    if not s:
        return _Analysis(False, True, True, False)
    block_ind = s.startswith(("---", "..."))
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = previous_space = previous_break = False
    preceded_ws = True
    last = len(s) - 1
    for i, c in enumerate(s):
        followed_ws = i == last or s[i + 1] in " \t"
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            elif c in "?:" or c == "-":
                block_ind = block_ind or followed_ws
        elif c == ":" and followed_ws or c == "#" and preceded_ws:
            block_ind = True
        if c == "\t":
            tabs = True
        elif not _printable(c):
            special = True
        if c == " ":
            leading_space = leading_space or i == 0
            trailing_space = trailing_space or i == last
            break_space = break_space or previous_break
            previous_space, previous_break = True, False
        elif c in _BREAKS:
            line_breaks = True
            leading_break = leading_break or i == 0
            trailing_break = trailing_break or i == last
            space_break = space_break or previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_ws = c in " \t\0" or c in _BREAKS
    block_plain = not (leading_space or leading_break or trailing_space or trailing_break
                       or break_space or space_break or tabs or special or line_breaks
                       or block_ind)
    single = not (break_space or space_break or tabs or special)
    block = not (trailing_space or space_break or special)
    return _Analysis(line_breaks, block_plain, single, block)


# -- the emitter -------------------------------------------------------------------------

@dataclass
class _Context:
    in_sequence: bool = False  # the node is a block sequence item
    simple_key: bool = False  # the node is a mapping key written on the key's line


class _Emitter:
    def __init__(self):
        self.out: list[str] = []
        self.column = 0
        self.indent = -1
        self.indents: list[int] = []
        self.whitespace = True
        self.indention = True

    # low-level writes
    def _write(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or \
                (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self._write(" " * (indent - self.column))
        self.whitespace = True

    def write_indicator(self, indicator: str, need_whitespace: bool, is_whitespace: bool,
                        is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self._write(" ")
        self._write(indicator)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool, in_sequence: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = BEST_INDENT if flow else 0
        elif in_sequence:
            self.indent += 2
        else:
            self.indent = BEST_INDENT * ((self.indent + BEST_INDENT) // BEST_INDENT)

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # nodes
    def node(self, value, ctx: _Context) -> None:
        if isinstance(value, dict):
            if not value:
                self.write_indicator("{", True, True, False)
                self.write_indicator("}", False, False, False)
            else:
                self.mapping(value, ctx)
        elif isinstance(value, list):
            if not value:
                self.write_indicator("[", True, True, False)
                self.write_indicator("]", False, False, False)
            else:
                self.sequence(value, ctx)
        elif isinstance(value, str):
            if "\n" in value:
                style = LITERAL
            else:
                style = PLAIN if plain_reads_as_string(value) else DOUBLE
            self.scalar(value, style, ctx)
        elif isinstance(value, bool):
            self.scalar("true" if value else "false", PLAIN, ctx)
        elif value is None:
            self.scalar("null", PLAIN, ctx)
        elif isinstance(value, (int, float)):
            self.scalar(format_number(value), PLAIN, ctx)
        else:
            raise TypeError(f"cannot write a {type(value).__name__} as YAML")

    def mapping(self, value: dict, ctx: _Context) -> None:
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"cannot write a {type(key).__name__} mapping key")
        self.increase_indent(False, ctx.in_sequence)
        for key in sort_keys(value):
            self.write_indent()
            analysis = _analyze(key)
            if not analysis.multiline and len(key.encode("utf-8", "replace")) <= 128:
                self.node(key, _Context(simple_key=True))
                self.write_indicator(":", False, False, False)
            else:
                self.write_indicator("?", True, False, True)
                self.node(key, _Context())
                self.write_indent()
                self.write_indicator(":", True, False, True)
            self.node(value[key], _Context())
        self.pop_indent()

    def sequence(self, value: list, ctx: _Context) -> None:
        self.increase_indent(False, ctx.in_sequence)
        for item in value:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item, _Context(in_sequence=True))
        self.pop_indent()

    def scalar(self, text: str, style: str, ctx: _Context) -> None:
        a = _analyze(text)
        if ctx.simple_key and a.multiline:
            style = DOUBLE
        if style == PLAIN and (not a.block_plain or not text and ctx.simple_key):
            style = SINGLE
        if style == SINGLE and not a.single:
            style = DOUBLE
        if style == LITERAL and (not a.block or ctx.simple_key):
            style = DOUBLE
        self.increase_indent(True, ctx.in_sequence)
        {PLAIN: self.write_plain, SINGLE: self.write_single, DOUBLE: self.write_double,
         LITERAL: self.write_literal}[style](text)
        self.pop_indent()

    def write_plain(self, text: str) -> None:
        if text and not self.whitespace:
            self._write(" ")
        self._write(text)  # a plain scalar holds no line break
        if text:
            self.whitespace = False
        self.indention = False

    def _write_break(self, c: str) -> None:
        if c == "\n":
            self.put_break()
        else:
            self._write(c)
            self.column = 0
            self.indention = True

    def write_single(self, text: str) -> None:
        self.write_indicator("'", True, False, False)
        breaks = False
        for c in text:
            if c in _BREAKS:
                if not breaks and c == "\n":
                    self.put_break()
                self._write_break(c)
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._write("''" if c == "'" else c)
                self.indention = False
                breaks = False
        self.write_indicator("'", False, False, False)
        self.whitespace = self.indention = False

    def write_double(self, text: str) -> None:
        self.write_indicator('"', True, False, False)
        bom = text.startswith("\ufeff")  # yaml.v3 then escapes every character
        for c in text:
            if bom or not _printable(c) or c in _BREAKS or c in '"\\':
                self._write(_escape(c))
            else:
                self._write(c)
        self.write_indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def write_literal(self, text: str) -> None:
        self.write_indicator("|", True, False, False)
        if text[0] == " " or text[0] in _BREAKS:
            self.write_indicator(str(BEST_INDENT), False, False, False)
        if text[-1] not in _BREAKS:
            self.write_indicator("-", False, False, False)
        elif len(text) == 1 or text[-2] in _BREAKS:
            self.write_indicator("+", False, False, False)
        self.whitespace = True
        breaks = True
        for c in text:
            if c in _BREAKS:
                self._write_break(c)
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._write(c)
                self.indention = False
                breaks = False


_SHORT_ESCAPES = {0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v",
                  0x0C: "f", 0x0D: "r", 0x1B: "e", 0x22: '"', 0x5C: "\\", 0x85: "N",
                  0xA0: "_", 0x2028: "L", 0x2029: "P"}


def _escape(c: str) -> str:
    o = ord(c)
    if o in _SHORT_ESCAPES:
        return "\\" + _SHORT_ESCAPES[o]
    if o <= 0xFF:
        return f"\\x{o:02X}"
    if o <= 0xFFFF:
        return f"\\u{o:04X}"
    return f"\\U{o:08X}"

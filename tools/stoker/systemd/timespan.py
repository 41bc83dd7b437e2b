"""systemd time spans (RandomizedDelaySec=, AccuracySec=, OnUnitActiveSec=, ...) in pure Python.

    parse_timespan(text, *, allow_infinity=True) -> int
        microseconds; USEC_INFINITY (2**64 - 1) for "infinity". Raises TimespanError (a
        ValueError) whose str() says what is wrong, e.g. '"ten minutes" is not a systemd
        time span (e.g. 10min, 1h 30min, 90s)'; `.text` is the input, `.reason` the message.
    format_timespan(usec) -> str
        what `systemd-analyze timespan` prints as "Human:" (format_timespan with accuracy 0).

Facts from systemd.time(7) "PARSING TIME SPANS" and parse_time()/parse_sec(),
extract_multiplier() and format_timespan() in src/basic/time-util.c; these are the
same in systemd 252.39, 257.13 (Fedora CoreOS stable ships 257, next 258) and 262:

* A span is one or more NUMBER[UNIT] parts, summed; spaces between parts, and
  between a number and its unit, are optional ("1h30min", "1h 30min", "5 min").
  A number without a unit is seconds (parse_sec), so "90" is 1min 30s.
* Units are case-sensitive and matched as prefixes in the order of UNITS (so
  "m" is minutes, "M" months, "ms" milliseconds, and "5mins" is 5min followed by
  an "s" that is not a number: refused). Months are 30.44 days, years 365.25.
* A number may have a fraction ("1.5h", ".5s"; "5." is refused); digits past the
  unit's resolution (microseconds) are dropped, not rounded. "+5" is taken like
  C's strtoll(), "-5" and "-0" are refused.
* "infinity" (lower case, alone, spaces around it allowed) is USEC_INFINITY.
  RandomizedDelaySec= accepts it (config_parse_sec -> parse_sec): the timer then
  adds a random delay below 2**64 us, about 584,542 years, so it effectively
  never elapses. Pass allow_infinity=False to refuse it there.
* Sums must stay below USEC_INFINITY; larger ones are refused.
* Whitespace is " \\t\\n\\r" (a unit file strips the value's ends before parsing).
"""

from __future__ import annotations

import re

__all__ = ["TimespanError", "UNITS", "USEC_INFINITY", "USEC_PER_SEC", "format_timespan",
           "parse_timespan"]

USEC_INFINITY = 2**64 - 1
USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC  # 30.44 days
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC  # 365.25 days

# extract_multiplier(): unit spellings in the order they are tried; the first prefix wins.
UNITS: tuple[tuple[str, int], ...] = (
    ("seconds", USEC_PER_SEC), ("second", USEC_PER_SEC), ("sec", USEC_PER_SEC), ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE), ("minute", USEC_PER_MINUTE), ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH), ("month", USEC_PER_MONTH), ("M", USEC_PER_MONTH),
    ("msec", 1000), ("ms", 1000),
    ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR), ("hour", USEC_PER_HOUR), ("hr", USEC_PER_HOUR), ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY), ("day", USEC_PER_DAY), ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK), ("week", USEC_PER_WEEK), ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR), ("year", USEC_PER_YEAR), ("y", USEC_PER_YEAR),
    ("usec", 1), ("us", 1),
    ("\u03bcs", 1),  # GREEK SMALL LETTER MU
    ("\u00b5s", 1),  # MICRO SIGN
)

# format_timespan(): the units of the human form, largest first.
_HUMAN_UNITS = (
    ("y", USEC_PER_YEAR), ("month", USEC_PER_MONTH), ("w", USEC_PER_WEEK), ("d", USEC_PER_DAY),
    ("h", USEC_PER_HOUR), ("min", USEC_PER_MINUTE), ("s", USEC_PER_SEC), ("ms", 1000), ("us", 1),
)

_WHITESPACE = " \t\n\r"  # systemd's WHITESPACE
_C_SPACE = " \t\n\v\f\r"  # what C's strtoll() skips by itself
_DIGITS = "0123456789"
_LLONG_MAX = 2**63 - 1
_EXAMPLES = "e.g. 10min, 1h 30min, 90s"


class TimespanError(ValueError):
    """TEXT is not a time span systemd accepts; str() is the reason, for an operator."""

    def __init__(self, text: str, reason: str):
        super().__init__(reason)
        self.text = text
        self.reason = reason


class _Fail(Exception):
    def __init__(self, reason: str | None = None):
        super().__init__(reason)
        self.reason = reason


def _char(s: str, i: int) -> str:
    return s[i] if i < len(s) else ""


def _skip(s: str, i: int, chars: str) -> int:
    while i < len(s) and s[i] in chars:
        i += 1
    return i


def _strtoll(s: str, i: int) -> tuple[int, int]:
    """C's strtoll(s + i, &end, 10): (value, end); end == i when nothing was converted."""
    j = _skip(s, i, _C_SPACE)
    sign = 1
    if _char(s, j) in ("+", "-"):
        sign = -1 if s[j] == "-" else 1
        j += 1
    k = _skip(s, j, _DIGITS)
    if k == j:
        return 0, i
    value = sign * int(s[j:k])
    if not -_LLONG_MAX - 1 <= value <= _LLONG_MAX:
        raise _Fail(f'"{s[i:k].strip()}" is too large')
    return value, k


def _unit_at(s: str, i: int) -> tuple[int | None, int]:
    for name, usec in UNITS:
        if s.startswith(name, i):
            return usec, i + len(name)
    return None, i


def _parse(s: str) -> int:
    i = _skip(s, 0, _WHITESPACE)
    if s.startswith("infinity", i):
        if _skip(s, i + 8, _WHITESPACE) != len(s):
            raise _Fail('"infinity" must stand alone')
        return USEC_INFINITY
    total = 0
    something = False
    while True:
        i = _skip(s, i, _WHITESPACE)
        if i == len(s):
            if not something:
                raise _Fail("the time span is empty")
            return total
        if s[i] == "-":
            raise _Fail("negative time spans are not allowed")
        number_at = i
        value, end = _strtoll(s, i)
        if value < 0:
            raise _Fail("negative time spans are not allowed")
        if _char(s, end) == ".":
            i = _skip(s, end + 1, _DIGITS)
        elif end == i:
            raise _Fail(None)
        else:
            i = end
        multiplier, after_unit = _unit_at(s, _skip(s, i, _WHITESPACE))
        if multiplier is None:
            multiplier = USEC_PER_SEC
            # No unit and no space either: something glued to the number ("12.34.56", "5x").
            if after_unit == i and i < len(s):
                raise _Fail(None)
        i = after_unit
        if value >= USEC_INFINITY // multiplier:
            raise _Fail(f'"{s[number_at:i].strip()}" is too large')
        part = value * multiplier
        if part >= USEC_INFINITY - total:
            raise _Fail("the sum is too large")
        total += part
        something = True
        if _char(s, end) == ".":
            scale = multiplier // 10
            b = end + 1
            while _char(s, b) and s[b] in _DIGITS:
                part = int(s[b]) * scale
                if part >= USEC_INFINITY - total:
                    raise _Fail("the sum is too large")
                total += part
                b += 1
                scale //= 10
            if b == end + 1:
                raise _Fail(f'"{s[number_at:end + 1]}" needs digits after the decimal point')


def _explain(text: str) -> str:
    """Why TEXT fails, when the parser's position says nothing better."""
    if text.strip(_WHITESPACE) == "":
        return f"the time span is empty ({_EXAMPLES})"
    units = {name for name, _ in UNITS}
    for m in re.finditer(r"[^\W\d_]+", text):
        word = m.group(0)
        if word in units:
            continue
        if word.lower() == "infinity":
            return 'write "infinity" in lower case, alone'
        # Right after a number, a word is meant as its unit.
        if re.search(r"[\d.]$", text[:m.start()].rstrip(_WHITESPACE)):
            hint = f'; units are case-sensitive: "{word.lower()}"' if word.lower() in units else ""
            return (f'"{word}" is not a time unit (units: us, ms, s, min, h, d, w, M, y; '
                    f"see systemd.time(7)){hint}")
        break
    if re.search(r"\d*\.\d*\.", text):
        return f'"{text}": a number has at most one decimal point'
    return f'"{text}" is not a systemd time span ({_EXAMPLES})'


def parse_timespan(text: str, *, allow_infinity: bool = True) -> int:
    """TEXT as systemd's parse_sec() reads it, in microseconds.

    "infinity" is USEC_INFINITY, refused when allow_infinity is False.
    Raises TimespanError with the reason."""
    if "\0" in text:
        raise TimespanError(text, "a NUL character is not allowed")
    try:
        usec = _parse(text)
    except _Fail as failure:
        reason = failure.reason
        if reason is None or reason == "the time span is empty":
            reason = _explain(text)
        raise TimespanError(text, reason) from None
    if usec == USEC_INFINITY and not allow_infinity:
        raise TimespanError(text, '"infinity" is not allowed here')
    return usec


def format_timespan(usec: int) -> str:
    """USEC as `systemd-analyze timespan` shows it ("Human:"): "1h 30min", "1.500000s", "0"."""
    if usec == USEC_INFINITY:
        return "infinity"
    if usec <= 0:
        return "0"
    parts: list[str] = []
    t = usec
    for suffix, unit in _HUMAN_UNITS:
        if t <= 0:
            break
        if t < unit:
            continue
        whole, rest = divmod(t, unit)
        # Below a minute, a remainder is shown as a fraction of this unit, to its resolution.
        if t < USEC_PER_MINUTE and rest > 0:
            digits = len(str(unit)) - 1  # log10: 6 for s, 3 for ms
            if digits > 0:
                parts.append(f"{whole}.{rest:0{digits}d}{suffix}")
                break
        parts.append(f"{whole}{suffix}")
        t = rest
    return " ".join(parts)

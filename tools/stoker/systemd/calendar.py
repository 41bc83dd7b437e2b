"""systemd calendar events (the values of OnCalendar=), checked and normalized in pure Python.

    parse_calendar(text, *, local_zone_abbreviations=("UTC", "UTC")) -> CalendarSpec
        raises CalendarError (a ValueError) whose str() says, in operator terms, what is wrong:
        'hour 25 is out of range 0-23', '"at" is not part of systemd's calendar syntax (...)';
        `.text` is the expression, `.reason` the message.
    CalendarSpec.normalized() -> str
        what `systemd-analyze calendar TEXT` prints as "Normalized form:".
    is_valid_calendar(text) -> bool
    zone_is_valid(name) -> bool
        whether systemd would take NAME as a time zone (see "Time zones" below).

The verdict and the normalized form follow calendar_spec_from_string() and
calendar_spec_to_string() of systemd's src/shared/calendarspec.c; the grammar is
systemd.time(7) "CALENDAR EVENTS":

    [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]

* WEEKDAYS: English names, short (Mon) or long (Monday), any case, joined by ","
  (a trailing "," is allowed), ranges "Mon..Fri" or the older "Mon-Fri"; a range
  runs forward only (Fri..Mon is refused). All seven days is the same as none.
* Each date and time field is "*" or a ","-list of up to 241 entries, each
  START, START..STOP, START/STEP or START..STOP/STEP. "*/STEP" is not accepted
  (write 0/STEP). STEP must be greater than 0 and START+STEP must still fit in
  the field, so *:50/15 is refused but *:44/15 is fine. Ranges are cut to a
  multiple of their step; a range whose step cannot fire twice becomes a plain
  value (1..2/3 is 1).
* Field ranges: year 1970-2199 (a two-digit year 0-69 means 2000-2069 and 70-99
  means 1970-1999), month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-59
  (60 and leap seconds are refused). Dates that never exist (*-02-30) are
  accepted: they just never elapse.
* "~" before the day counts from the end of the month: *-02~03 is the third
  last day of February, Mon *-05~07/1 the last Monday of May; such a day is
  1-28, and "~" is only allowed between month and day. A quirk of chain_valid()
  (it passes its shortened limit on down the list): the k-th entry of the sorted
  day list may be at most 28 - 3k, so *-*~1,2,3,4,5,6,7 is valid, ...,8 is not,
  and *-*~15,18/1,24 is refused for its 24.
* Only the seconds may have a fraction, in the value and in the step; it is
  rounded to microseconds (6 digits, half up). A seconds range needs a step when
  it spans less than 1 s (00:00:00.0..00.9 is refused).
* Omitted date: *-*-*. Omitted time: 00:00:00. Omitted seconds: 00. A time
  needs at least HOUR:MINUTE (a bare "7" is refused).
* Shorthands, alone (a time zone may follow), any case: minutely, hourly, daily,
  weekly, monthly, yearly, annually (and the old misspelling anually), quarterly,
  semiannually, semi-annually, biannually, bi-annually.
* "@SECONDS" (after optional weekdays) is that moment in UTC: @0 is
  1970-01-01 00:00:00 UTC. Like C's strtoul(), "@ 5", "@+5" and "@-0" are taken.
* Fields are separated by spaces only; spaces may repeat between fields and
  after a date, but not at the start, and not after a time ("12:00 " is refused,
  "2003-03-05 " is not). A systemd unit file strips surrounding whitespace from
  OnCalendar= before this parser sees it; parse_calendar does not.
* "now", "today", "yesterday", "tomorrow", "+5min", "5min ago" are timestamps
  (systemd.time(7) "PARSING TIMESTAMPS"), never calendar events: OnCalendar=
  refuses them, as systemd-analyze calendar does.

Time zones. The last space-separated word is a time zone when it is "UTC" (any
case, normalized to "UTC"), one of the VM's local zone abbreviations (C's
tzname[]: for Fedora CoreOS, whose /etc/localtime is UTC, that is "UTC" again;
pass local_zone_abbreviations=("CET", "CEST") for a VM in Europe/Berlin), or a
name systemd's verify_timezone() accepts (src/basic/time-util.c): letters,
digits, "-", "_", "+" and single "/" (not first or last), naming a TZif file
under /usr/share/zoneinfo. stoker checks such a name against Python's
zoneinfo.available_timezones(), plus "posix/NAME" and "right/NAME" for those
names (systemd opens them as files; Python leaves these trees out). Python also
leaves out "posixrules", which systemd takes where tzdata still ships it:
stoker refuses it. The set is this machine's tz database, so a name only it has
(Debian's "localtime" link) passes here and may fail on the VM. Where the
machine running stoker has no tz database at all
(the set is empty), any well-formed name is accepted, so "12:00 Mars/Olympus"
(and even "Mon 12:00 Tue", its last word taken for a zone) passes there and
fails on the VM; zone_is_valid() documents the same.

Versions. Fedora CoreOS stable ships systemd 257, next 258; the host the test
vectors were made on has 252. The sources read (Debian's 252.39, 257.13 and 262
packages; 258 was not at hand, but lies between two with the same code) have the
same parser and printer, with these differences:
* "@SECONDS": 252 converts with gmtime(); 257 first refuses seconds whose
  microseconds overflow 64 bits. Same verdict: anything after 2199 is refused.
* 262 (not 257) logs a warning when a fixed date can never fall on the given
  weekday ("... so this timer will never elapse"); the expression stays valid.
  stoker does not warn.
* 262 reads the local DST abbreviation through get_tzname(), which falls back
  to the standard one when it is empty (musl); no change with glibc.
NEWS for 253-262 lists no change to the calendar syntax (258 added the timer
setting RandomizedOffsetSec=, a time span). An open proposal, systemd pull
request #36576 ("TIMESTAMP and every TIMESPAN"), is in none of these releases.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .timespan import TimespanError, parse_timespan

__all__ = [
    "CalendarComponent", "CalendarError", "CalendarSpec", "FIELD_RANGES", "SHORTHANDS",
    "TIMESTAMP_WORDS", "WEEKDAYS", "is_valid_calendar", "parse_calendar", "zone_is_valid",
]

USEC_PER_SEC = 1_000_000

# calendarspec.c: fields are C ints, and strtoul() reads unsigned longs.
_INT_MAX = 2**31 - 1
_ULONG_MAX = 2**64 - 1
# calendarspec.c CALENDARSPEC_COMPONENTS_MAX: a field holds the first entry plus this many more.
_COMPONENTS_MAX = 240

# Normalized weekday spelling; the index is the day (Monday = 0).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# What the weekday parser tries at each position, in this order: long names before their prefix.
_WEEKDAY_NAMES = (
    ("Monday", 0), ("Mon", 0), ("Tuesday", 1), ("Tue", 1), ("Wednesday", 2), ("Wed", 2),
    ("Thursday", 3), ("Thu", 3), ("Friday", 4), ("Fri", 4), ("Saturday", 5), ("Sat", 5),
    ("Sunday", 6), ("Sun", 6),
)

# Inclusive ranges the fields must stay in (calendar_spec_valid); seconds are in microseconds.
FIELD_RANGES = {
    "year": (1970, 2199),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 60 * USEC_PER_SEC - 1),
}
# Zero-padded width of each field in the normalized form.
_WIDTH = {"year": 4, "month": 2, "day": 2, "hour": 2, "minute": 2, "second": 2}

# The shorthands (systemd.time(7); calendar_spec_from_string): the fields each one sets, as plain
# values (seconds in microseconds); fields not named are "*", "weekdays" lists day numbers.
_MIDNIGHT = {"hour": (0,), "minute": (0,), "second": (0,)}
_YEARLY = {"month": (1,), "day": (1,), **_MIDNIGHT}
_SEMIANNUALLY = {"month": (1, 7), "day": (1,), **_MIDNIGHT}
SHORTHANDS: dict[str, dict[str, tuple[int, ...]]] = {
    "minutely": {"second": (0,)},
    "hourly": {"minute": (0,), "second": (0,)},
    "daily": _MIDNIGHT,
    "monthly": {"day": (1,), **_MIDNIGHT},
    "annually": _YEARLY,
    "yearly": _YEARLY,
    "anually": _YEARLY,  # kept by systemd for backwards compatibility
    "weekly": {"weekdays": (0,), **_MIDNIGHT},
    "quarterly": {"month": (1, 4, 7, 10), "day": (1,), **_MIDNIGHT},
    "biannually": _SEMIANNUALLY,
    "bi-annually": _SEMIANNUALLY,
    "semiannually": _SEMIANNUALLY,
    "semi-annually": _SEMIANNUALLY,
}

# Words of timestamps (systemd.time(7) "PARSING TIMESTAMPS", as in journalctl --since=today),
# which are single points in time: OnCalendar= refuses them.
TIMESTAMP_WORDS = ("now", "today", "yesterday", "tomorrow")
_RELATIVE_WORDS = ("ago", "left")

_DIGITS = "0123456789"
# What C's isspace() skips before strtoul() reads "@SECONDS".
_C_SPACE = " \t\n\v\f\r"
_FORM = "[WEEKDAY] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(s: str) -> str:
    """ASCII-only lower case, as systemd's strcaseeq()/startswith_no_case() compare."""
    return s.translate(_ASCII_LOWER)


class CalendarError(ValueError):
    """TEXT is not a calendar event systemd accepts; str() is the reason, for an operator."""

    def __init__(self, text: str, reason: str):
        super().__init__(reason)
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class CalendarComponent:
    """One entry of a field: START, START..STOP, START/REPEAT or START..STOP/REPEAT.

    Values are in the field's unit (the seconds field: microseconds). stop is None
    without a range; repeat is 0 for a single value (a range without "/" has repeat 1,
    or 1 s for seconds)."""

    start: int
    stop: int | None = None
    repeat: int = 0


Chain = tuple[CalendarComponent, ...]


@dataclass(frozen=True)
class CalendarSpec:
    """A parsed, normalized calendar event (the C struct CalendarSpec).

    weekdays: day numbers (Monday = 0); empty means any day. year, month, day,
    hour, minute: None means "*". second: microseconds. end_of_month: the day
    counts from the end of the month ("~"). utc, timezone (an IANA name) and
    local_zone (one of the local zone abbreviations given to parse_calendar) say
    which clock the event follows; none of them means the VM's local time."""

    weekdays: frozenset[int]
    year: Chain | None
    month: Chain | None
    day: Chain | None
    hour: Chain | None
    minute: Chain | None
    second: Chain | None
    end_of_month: bool = False
    utc: bool = False
    timezone: str | None = None
    local_zone: str | None = None

    def normalized(self) -> str:
        """The "Normalized form:" of `systemd-analyze calendar` (calendar_spec_to_string)."""
        out = ""
        if self.weekdays:
            out = _format_weekdays(self.weekdays) + " "
        out += (f"{_format_chain(self.year, 'year')}-{_format_chain(self.month, 'month')}"
                f"{'~' if self.end_of_month else '-'}{_format_chain(self.day, 'day')} "
                f"{_format_chain(self.hour, 'hour')}:{_format_chain(self.minute, 'minute')}"
                f":{_format_chain(self.second, 'second')}")
        if self.utc:
            out += " UTC"
        elif self.timezone:
            out += " " + self.timezone
        elif self.local_zone:
            out += " " + self.local_zone
        return out

    def __str__(self) -> str:
        return self.normalized()


# --------------------------------------------------------------------------- printing

def _format_weekdays(days: frozenset[int]) -> str:
    """Runs of three or more days as "A..B", of two as "A,B" (format_weekdays)."""
    parts: list[str] = []
    day = 0
    while day < 7:
        if day not in days:
            day += 1
            continue
        end = day
        while end + 1 < 7 and end + 1 in days:
            end += 1
        if end - day >= 2:
            parts.append(f"{WEEKDAYS[day]}..{WEEKDAYS[end]}")
        else:
            parts.extend(WEEKDAYS[d] for d in range(day, end + 1))
        day = end + 1
    return ",".join(parts)


def _format_component(c: CalendarComponent, field: str) -> str:
    width = _WIDTH[field]
    unit = USEC_PER_SEC if field == "second" else 1
    out = f"{c.start // unit:0{width}d}"
    if c.start % unit:
        out += f".{c.start % unit:06d}"
    if c.stop is not None and c.stop > 0:
        out += f"..{c.stop // unit:0{width}d}"
        if c.stop % unit:
            out += f".{c.stop % unit:06d}"
    # A range's default step (1, or 1 s) is implied by "..".
    if c.repeat > 0 and not (c.stop is not None and c.stop > 0 and c.repeat == unit):
        out += f"/{c.repeat // unit}"
    if c.repeat % unit:
        out += f".{c.repeat % unit:06d}"
    return out


def _format_chain(chain: Chain | None, field: str) -> str:
    if chain is None:
        return "*"
    # Seconds: an entry "every second from 0" covers the whole field, whatever else is listed.
    if field == "second" and any(c.start == 0 and c.stop is None and c.repeat == USEC_PER_SEC
                                 for c in chain):
        return "*"
    return ",".join(_format_component(c, field) for c in chain)


# --------------------------------------------------------------------------- time zones

@functools.cache
def _zone_names() -> frozenset[str]:
    try:
        return frozenset(zoneinfo.available_timezones())
    except OSError:
        return frozenset()


_ZONE_SYNTAX = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")


def zone_is_valid(name: str) -> bool:
    """Whether systemd takes NAME as a time zone (verify_timezone in src/basic/time-util.c).

    "UTC" always; otherwise a well-formed name found by zoneinfo.available_timezones(),
    or "posix/"/"right/" + such a name. Without any tz database on this machine, any
    well-formed name (the file check cannot be made here)."""
    if name == "UTC":
        return True
    if not _ZONE_SYNTAX.fullmatch(name) or len(name) >= 4096:  # PATH_MAX
        return False
    zones = _zone_names()
    if not zones:
        return True
    if name in zones:
        return True
    tree, _, rest = name.partition("/")
    return tree in ("posix", "right") and rest in zones


# --------------------------------------------------------------------------- parsing

class _Fail(Exception):
    """The parser stops here; reason is the operator's message (None: the generic one)."""

    def __init__(self, reason: str | None = None):
        super().__init__(reason)
        self.reason = reason


class _OutOfRange(_Fail):
    """The expression parsed, but a value does not fit (calendar_spec_valid): the reason is exact."""


def _char(s: str, i: int) -> str:
    """s[i], or "" past the end (C's terminating NUL)."""
    return s[i] if i < len(s) else ""


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] == " ":
        i += 1
    return i


_WORD = re.compile(r"[A-Za-z]+")


def _word_at(s: str, i: int) -> str:
    m = _WORD.match(s, i)
    return m.group(0) if m else s[i:i + 1]


def _quoted(c: str) -> str:
    return repr(c) if not c.isprintable() or c == "" else f'"{c}"'


class _Builder:
    """The mutable CalendarSpec the parser fills in."""

    def __init__(self):
        self.weekdays = 0  # bit d = day d (Monday = bit 0)
        self.fields: dict[str, list[CalendarComponent] | None] = dict.fromkeys(FIELD_RANGES)
        self.end_of_month = False
        self.utc = False
        self.timezone: str | None = None
        self.local_zone: str | None = None


def _parse_weekdays(s: str, i: int, b: _Builder) -> int:
    """WEEKDAYS and the spaces after them; returns i unchanged when there are none."""
    start_of_range = -1
    first = True
    while True:
        for name, nr in _WEEKDAY_NAMES:
            if _fold(s[i:i + len(name)]) == _fold(name):
                break
        else:
            if first:
                return i
            raise _Fail(f'expected a weekday after "{s[:i]}", found {_quoted(_word_at(s, i))} '
                        f"(a space separates the weekdays from the date or time)")
        end = i + len(name)
        if _char(s, end) not in ("", "-", ".", ",", " "):
            word = _word_at(s, i)
            raise _Fail(f'"{word}" is not a weekday (write {WEEKDAYS[nr]} or '
                        f'{_WEEKDAY_NAMES[2 * nr][0]})' if word.isalpha() else None)
        b.weekdays |= 1 << nr
        if start_of_range >= 0:
            if start_of_range > nr:
                wrapped = frozenset(range(start_of_range, 7)) | frozenset(range(nr + 1))
                raise _Fail(f"weekday range {WEEKDAYS[start_of_range]}..{WEEKDAYS[nr]} runs backwards "
                            f"(weeks run Monday to Sunday: write {_format_weekdays(wrapped)})")
            for d in range(start_of_range + 1, nr):
                b.weekdays |= 1 << d
        i = end
        if i == len(s):
            return i
        if s[i] == " ":
            return _skip_spaces(s, i)
        if s[i] == ".":
            if start_of_range >= 0:
                raise _Fail("a weekday range has exactly two ends (Mon..Fri)")
            if _char(s, i + 1) != ".":
                raise _Fail('weekday ranges are written with "..", e.g. Mon..Fri')
            start_of_range = nr
            i += 2
        elif s[i] == "-":  # the older spelling of a range
            if start_of_range >= 0:
                raise _Fail("a weekday range has exactly two ends (Mon..Fri)")
            start_of_range = nr
            i += 1
        elif s[i] == ",":
            start_of_range = -1
            i += 1
        # A trailing "," is allowed, an open range is not.
        if _char(s, i) in ("", " "):
            if start_of_range >= 0:
                raise _Fail(f'weekday range "{s[:i].rstrip()}" has no end')
            return _skip_spaces(s, i)
        first = False


def _parse_fraction(s: str, i: int) -> tuple[int, int]:
    """Up to 6 digits as microseconds, rounded half up by the 7th (parse_fractional_part_u)."""
    value = 0
    digits = 0
    while digits < 6 and _char(s, i) and s[i] in _DIGITS:
        value = value * 10 + int(s[i])
        digits += 1
        i += 1
    if digits == 0:
        raise _Fail("a decimal point needs digits after it")
    value *= 10 ** (6 - digits)
    if digits == 6 and _char(s, i) and s[i] in "56789":
        value += 1
    while _char(s, i) and s[i] in _DIGITS:
        i += 1
    return value, i


def _parse_number(s: str, i: int, usec: bool, what: str) -> tuple[int, int]:
    """A decimal, and for the seconds its fraction, in microseconds (parse_component_decimal)."""
    c = _char(s, i)
    if not c or c not in _DIGITS:
        if c == "":
            raise _Fail(f"the {what} is missing at the end")
        if c == "-":
            raise _Fail(f"expected a number for the {what}, found \"-\" (negative values do not exist)")
        if c.isalpha():
            raise _Fail(None)  # a word: the word check explains it
        raise _Fail(f"expected a number or \"*\" for the {what}, found {_quoted(c)}")
    j = i
    while _char(s, j) and s[j] in _DIGITS:
        j += 1
    value = int(s[i:j])
    if value > _ULONG_MAX:
        raise _Fail(f"number {s[i:j]} is too large")
    if usec:
        value *= USEC_PER_SEC
        # One "." starts the fraction, two are a range.
        if _char(s, j) == "." and _char(s, j + 1) != ".":
            fraction, j = _parse_fraction(s, j + 1)
            value += fraction
    if value > _INT_MAX:
        raise _Fail(f"number {s[i:j]} is too large")
    return value, j


def _parse_components(s: str, i: int, usec: bool, what: str) -> tuple[list[CalendarComponent], int]:
    """A ","-list of START[..STOP][/REPEAT] (prepend_component)."""
    out: list[CalendarComponent] = []
    while True:
        if len(out) > _COMPONENTS_MAX:
            raise _Fail(f"the {what} lists more than {_COMPONENTS_MAX + 1} values")
        begin = i
        start, i = _parse_number(s, i, usec, what)
        stop = None
        repeat = 0
        if s[i:i + 2] == "..":
            if not _char(s, i + 2) or s[i + 2] not in _DIGITS:
                raise _Fail(f'range "{s[begin:i + 2]}" has no end')
            stop, i = _parse_number(s, i + 2, usec, what)
            repeat = USEC_PER_SEC if usec else 1
        if _char(s, i) == "/":
            if not _char(s, i + 1) or s[i + 1] not in _DIGITS:
                raise _Fail(f'"{s[begin:i + 1]}" needs a number of steps after "/"')
            repeat, i = _parse_number(s, i + 1, usec, what)
            if repeat == 0:
                raise _Fail(f'repetition "{s[begin:i]}" never advances: the step must be greater than 0')
        else:
            if start > _INT_MAX - repeat:
                raise _Fail(f"number {s[begin:i]} is too large")
            # Without a step a seconds range advances by 1 s, so it must span at least that.
            if usec and stop is not None and start + repeat > stop:
                raise _Fail(f'seconds range "{s[begin:i]}" runs backwards' if stop < start else
                            f'seconds range "{s[begin:i]}" is shorter than its default step of '
                            f'1 second; give a step, e.g. "{s[begin:i]}/0.1"')
        c = _char(s, i)
        if c not in ("", " ", ",", "-", "~", ":"):
            if c == "." and not usec:
                raise _Fail(f'only the seconds may have a fraction ("{s[begin:i + 2]}" in the {what})')
            if c.isalpha():
                raise _Fail(None)
            raise _Fail(f'unexpected {_quoted(c)} after "{s[begin:i]}" in the {what}')
        out.append(CalendarComponent(start, stop, repeat))
        if c != ",":
            return out, i
        i += 1


def _parse_chain(s: str, i: int, usec: bool, what: str) -> tuple[list[CalendarComponent] | None, int]:
    """A field: "*" or a list (parse_chain). "*" is None, but for seconds "every second from 0"."""
    if _char(s, i) == "*":
        if _char(s, i + 1) == "/":
            # Always refused: whatever follows "*" must be a separator.
            step = re.compile(r"[0-9.]*").match(s, i + 2).group(0)
            raise _Fail(f'"*/{step}": a repetition needs a start value, write "0/{step or "STEP"}"')
        return ([CalendarComponent(0, None, USEC_PER_SEC)] if usec else None), i + 1
    return _parse_components(s, i, usec, what)


def _parse_epoch(s: str, i: int, b: _Builder) -> int:
    """"@SECONDS": that moment in UTC (calendarspec_from_time_t). strtoul() rules: leading
    whitespace and a sign are allowed, "-N" wraps around (and so lands before 1970)."""
    j = i + 1
    while _char(s, j) and s[j] in _C_SPACE:
        j += 1
    negative = _char(s, j) == "-"
    if _char(s, j) in ("+", "-"):
        j += 1
    k = j
    while _char(s, k) and s[k] in _DIGITS:
        k += 1
    if k == j:
        raise _Fail('"@" must be followed by the number of seconds since 1970-01-01 00:00:00 UTC')
    magnitude = int(s[j:k])
    if magnitude > _ULONG_MAX:
        raise _Fail(f"{s[i:k]} is too large")
    value = (-magnitude) % 2**64 if negative else magnitude
    seconds = value - 2**64 if value >= 2**63 else value  # as a signed time_t
    if seconds < 0:
        raise _OutOfRange(f"{s[i:k]} is before 1970, the first year systemd's calendar handles")
    lo, hi = FIELD_RANGES["year"]
    last = int((datetime(hi + 1, 1, 1, tzinfo=timezone.utc)
                - datetime(lo, 1, 1, tzinfo=timezone.utc)).total_seconds()) - 1
    if seconds > last:
        raise _OutOfRange(f"{s[i:k]} is after {hi}-12-31 23:59:59 UTC, the last moment systemd's "
                          f"calendar handles")
    t = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    for name, value in (("year", t.year), ("month", t.month), ("day", t.day), ("hour", t.hour),
                        ("minute", t.minute), ("second", t.second * USEC_PER_SEC)):
        b.fields[name] = [CalendarComponent(value)]
    b.utc = True
    return k


def _parse_date(s: str, i: int, b: _Builder) -> tuple[bool, int]:
    """[[YEAR-]MONTH-DAY] and the spaces after it (parse_date). Returns (done, i): done after
    "@SECONDS", which takes no time; i unchanged when what follows is a time, not a date."""
    if i == len(s):
        return False, i
    if s[i] == "@":
        return True, _parse_epoch(s, i, b)
    first, j = _parse_chain(s, i, False, "date or time")
    # The end, or a ":": this was the hour of a time, not a date.
    if _char(s, j) in ("", ":"):
        return False, i
    if s[j] == "~":
        b.end_of_month = True
    elif s[j] != "-":
        raise _Fail(f'"{s[i:j]}" is neither a date (MONTH-DAY) nor a time (HOUR:MINUTE)'
                    if s[j] == " " else None)
    second, j = _parse_chain(s, j + 1, False, "day")
    if _char(s, j) in ("", " "):
        b.fields["month"], b.fields["day"] = first, second
        return False, _skip_spaces(s, j)
    if b.end_of_month:
        raise _Fail('"~" (days counted from the end of the month) goes between month and day, '
                    'e.g. *-02~03')
    if s[j] == "~":
        b.end_of_month = True
    elif s[j] != "-":
        raise _Fail(f'separate the date and the time with a space ("{s[i:j]} ...")'
                    if s[j] == ":" else None)
    third, j = _parse_chain(s, j + 1, False, "day")
    if _char(s, j) not in ("", " "):
        raise _Fail("a date has at most three parts, YEAR-MONTH-DAY" if s[j] in "-~"
                    else f'separate the date and the time with a space ("{s[i:j]} ...")'
                    if s[j] == ":" else None)
    b.fields["year"], b.fields["month"], b.fields["day"] = first, second, third
    return False, _skip_spaces(s, j)


def _after_time(s: str, i: int) -> _Fail:
    rest = s[i:]
    if rest.strip(" ") == "":
        return _Fail("trailing spaces after the time are not allowed")
    if rest[0] == " ":
        return _Fail(f'unexpected "{rest.strip(" ")}" after the time'
                     f' (the order is {_FORM})')
    return _Fail(None)


def _parse_time(s: str, i: int, b: _Builder) -> int:
    """HOUR:MINUTE[:SECOND], or nothing for 00:00:00 (parse_calendar_time)."""
    if i == len(s):
        b.fields["hour"] = [CalendarComponent(0)]
        b.fields["minute"] = [CalendarComponent(0)]
        b.fields["second"] = [CalendarComponent(0)]
        return i
    begin = i
    b.fields["hour"], i = _parse_chain(s, i, False, "hour")
    if _char(s, i) != ":":
        if i == len(s):
            raise _Fail(f'"{s[begin:]}" is not a time: write at least HOUR:MINUTE, e.g. '
                        f'"{s[begin:]}:00"')
        raise _Fail(None)
    b.fields["minute"], i = _parse_chain(s, i + 1, False, "minute")
    if i == len(s):
        b.fields["second"] = [CalendarComponent(0)]
        return i
    if s[i] != ":":
        raise _after_time(s, i)
    b.fields["second"], i = _parse_chain(s, i + 1, True, "second")
    if i != len(s):
        if s[i] == ":":
            raise _Fail("a time has at most three parts, HOUR:MINUTE:SECOND")
        raise _after_time(s, i)
    return i


# --------------------------------------------------------------------------- normalizing

def _normalize_chain(chain: list[CalendarComponent] | None) -> Chain | None:
    """Cut ranges to a multiple of their step, drop steps that cannot fire twice, sort and
    drop duplicates (normalize_chain)."""
    if chain is None:
        return None
    out = set()
    for c in chain:
        stop = -1 if c.stop is None else c.stop
        start, repeat = c.start, c.repeat
        if stop > start and repeat > 0:
            stop -= (stop - start) % repeat
        if (stop > start and repeat > 0 and start + repeat > stop) or start == stop:
            repeat, stop = 0, -1
        out.add((start, stop, repeat))
    return tuple(CalendarComponent(start, None if stop < 0 else stop, repeat)
                 for start, stop, repeat in sorted(out))


def _fix_year(chain: list[CalendarComponent] | None) -> list[CalendarComponent] | None:
    """Two-digit years: 0-69 are 2000-2069, 70-99 are 1970-1999 (fix_year)."""
    def fix(v: int | None) -> int | None:
        if v is None:
            return None
        return v + 2000 if v < 70 else v + 1900 if v < 100 else v
    if chain is None:
        return None
    return [CalendarComponent(fix(c.start), fix(c.stop), c.repeat) for c in chain]


def _show(value: int, field: str) -> str:
    if field == "second" and value == FIELD_RANGES["second"][1]:
        return "59"  # the last microsecond of the minute: say "0-59" as an operator would
    if field == "second":
        whole, frac = divmod(value, USEC_PER_SEC)
        return f"{whole}.{frac:06d}".rstrip("0") if frac else str(whole)
    return str(value)


def _check_chain(chain: Chain | None, field: str, end_of_month: bool) -> None:
    """The field's values fit its range and every step can fire (chain_valid)."""
    if chain is None:
        return
    lo, hi = FIELD_RANGES[field]
    mark = note = ""
    if end_of_month:
        mark, note = "~", " (days counted back from the end of the month)"
    for k, c in enumerate(chain):
        if end_of_month:
            # "~" counts at most 28 days back. chain_valid() takes 3 more off for each entry of
            # the sorted list, as it passes its shortened limit on to the next entry: the k-th
            # entry must be at most 28 - 3k (*-*~1,2,3,4,5,6,7 passes, ...,8 does not).
            hi -= 3
            if k:
                note = (" (days counted back from the end of the month; with \"~\" systemd allows 3 "
                        "days less for each earlier entry of the list)")
        span = f"{_show(lo, field)}-{_show(hi, field)}"
        shown = mark + _format_component(c, field)
        if not lo <= c.start <= hi:
            raise _OutOfRange(f"{field} {mark}{_show(c.start, field)} is out of range {span}{note}")
        if c.repeat > hi - lo:
            raise _OutOfRange(f'{field} "{shown}": the step {_show(c.repeat, field)} is larger than '
                              f"the whole range {span}{note}")
        if c.stop is not None:
            if not lo <= c.stop <= hi:
                raise _OutOfRange(f'{field} {mark}{_show(c.stop, field)} (the end of "{shown}") is '
                                  f"out of range {span}{note}")
            if c.start + c.repeat > c.stop:
                raise _OutOfRange(f'{field} range "{shown}" runs backwards')
        elif end_of_month and c.start - c.repeat < lo:
            raise _OutOfRange(f'{field} "{shown}" never repeats: {_show(c.start, field)} days back from '
                              f"the end of the month, a step of {_show(c.repeat, field)} runs past the "
                              f"last day")
        elif not end_of_month and c.start + c.repeat > hi:
            raise _OutOfRange(f'{field} "{shown}" never repeats: {_show(c.start, field)} + '
                              f"{_show(c.repeat, field)} is past {_show(hi, field)}")


def _build(b: _Builder) -> CalendarSpec:
    """calendar_spec_normalize, then calendar_spec_valid."""
    if b.timezone == "UTC":
        b.utc, b.timezone = True, None
    weekdays = frozenset(d for d in range(7) if b.weekdays & (1 << d))
    if len(weekdays) == 7:
        weekdays = frozenset()
    end_of_month = b.end_of_month and b.fields["day"] is not None
    fields = dict(b.fields)
    fields["year"] = _fix_year(fields["year"])
    chains = {name: _normalize_chain(chain) for name, chain in fields.items()}
    for name, chain in chains.items():
        _check_chain(chain, name, end_of_month and name == "day")
    return CalendarSpec(weekdays=weekdays, end_of_month=end_of_month, utc=b.utc,
                        timezone=b.timezone, local_zone=b.local_zone, **chains)


# --------------------------------------------------------------------------- entry points

def _split_zone(text: str, b: _Builder, local: tuple[str, str]) -> str:
    """Take a trailing time zone off TEXT, as calendar_spec_from_string does first."""
    if _fold(text).endswith(" utc"):
        b.utc = True
        return text[:-4]
    for name in local:
        if name and len(text) > len(name) and _fold(text[-len(name):]) == _fold(name) \
                and text[-len(name) - 1] == " ":
            b.local_zone = name
            return text[:-len(name) - 1]
    space = text.rfind(" ")
    if space >= 0 and zone_is_valid(text[space + 1:]):
        b.timezone = text[space + 1:]
        return text[:space]
    return text


def _parse(text: str, local: tuple[str, str]) -> CalendarSpec:
    b = _Builder()
    s = _split_zone(text, b, local)
    if s == "":
        raise _Fail("the expression is empty" if text == "" else
                    f'"{text.strip()}" alone is a time zone, not a calendar event')
    shorthand = SHORTHANDS.get(_fold(s))
    if shorthand is not None:
        for name, values in shorthand.items():
            if name == "weekdays":
                for d in values:
                    b.weekdays |= 1 << d
            else:
                b.fields[name] = [CalendarComponent(v) for v in values]
        return _build(b)
    i = _parse_weekdays(s, 0, b)
    done, i = _parse_date(s, i, b)
    if not done:
        i = _parse_time(s, i, b)
    if i != len(s):  # only after "@SECONDS": the time parser reads to the end or fails
        raise _Fail('only a time zone may follow "@SECONDS"')
    return _build(b)


def parse_calendar(text: str, *, local_zone_abbreviations: tuple[str, str] = ("UTC", "UTC")
                   ) -> CalendarSpec:
    """Parse TEXT as systemd parses OnCalendar= (calendar_spec_from_string).

    local_zone_abbreviations: the VM's tzname[] (standard, daylight saving), which may end
    the expression; Fedora CoreOS runs in UTC. Raises CalendarError with the reason."""
    if "\0" in text:
        # C strings end at NUL; refuse rather than guess what the unit file loader keeps.
        raise CalendarError(text, "a NUL character is not allowed")
    try:
        return _parse(text, local_zone_abbreviations)
    except _OutOfRange as failure:
        raise CalendarError(text, failure.reason) from None
    except _Fail as failure:
        reason = _explain(text, local_zone_abbreviations) or failure.reason
        raise CalendarError(text, reason or _generic()) from None


def is_valid_calendar(text: str) -> bool:
    """Whether systemd accepts TEXT as OnCalendar= (local time UTC)."""
    try:
        parse_calendar(text)
    except CalendarError:
        return False
    return True


# --------------------------------------------------------------------------- explaining

def _generic() -> str:
    return f"not a valid systemd calendar expression; the form is {_FORM}, e.g. \"Mon..Fri 08:00\""


def _is_weekday_word(word: str) -> bool:
    return any(_fold(word) == _fold(name) for name, _ in _WEEKDAY_NAMES)


def _is_known_zone(token: str, local: tuple[str, str]) -> bool:
    """A zone systemd would strip from the end; without a tz database here, only UTC and the
    local abbreviations (any well-formed word would pass zone_is_valid then)."""
    if _fold(token) == "utc" or any(name and _fold(token) == _fold(name) for name in local):
        return True
    return bool(_zone_names()) and zone_is_valid(token)


def _explain(text: str, local: tuple[str, str]) -> str | None:
    """A better reason than the parser's position for a refused TEXT, from its words:
    unknown words, timestamps, time spans, shorthands with more fields, misplaced parts.
    None when the words are all in place (the parser's reason then stands)."""
    if text.strip(" ") == "":
        return "the expression is empty" if text == "" else "the expression is only spaces"
    odd = [c for c in text if not (c.isascii() and (c.isalnum() or c in " .,-~:/*@+_"))]
    if odd:
        return (f"character {_quoted(odd[0])} is not allowed "
                f"(parts of a calendar expression are separated by single spaces)")
    if text[0] == " ":
        return "leading spaces are not allowed"
    tokens = text.split()
    folded = [_fold(t) for t in tokens]
    if re.search(r"[a-z]", _fold(text)) and not any(t in SHORTHANDS for t in folded):
        try:
            parse_timespan(text)
        except TimespanError:
            pass
        else:
            return (f'"{text}" is a time span, not a calendar event: OnCalendar= takes points in '
                    f'time (every 10 minutes is "*:0/10"); intervals belong in OnUnitActiveSec=')
    for word in folded:
        if word in TIMESTAMP_WORDS or word in _RELATIVE_WORDS:
            return (f'"{word}" belongs to a timestamp, not a calendar event: OnCalendar= needs a '
                    f'recurring expression such as "daily" or "*-*-* 08:00:00"')
    last = len(tokens) - 1
    for idx, token in enumerate(tokens):
        words = _WORD.findall(token)
        if not words or _fold(token) in SHORTHANDS or all(_is_weekday_word(w) for w in words):
            continue
        if _is_known_zone(token, local):
            if idx != last:
                return f'the time zone "{token}" must come last'
            continue
        for word in words:
            if _is_weekday_word(word):
                continue
            prefix = next((n for n, _ in _WEEKDAY_NAMES if _fold(word).startswith(_fold(n))), None)
            if prefix:
                nr = dict(_WEEKDAY_NAMES)[prefix]
                return f'"{word}" is not a weekday (write {WEEKDAYS[nr]} or {_WEEKDAY_NAMES[2 * nr][0]})'
            if _fold(word) in ("am", "pm"):
                return f'"{word}": systemd uses 24-hour times, e.g. 20:00 for 8pm'
            # Only the last of several words can be a time zone.
            if 0 < idx == last and _ZONE_SYNTAX.fullmatch(token) and ("/" in token or token.isalpha()):
                same = sorted(z for z in _zone_names() if _fold(z) == _fold(token))
                if same:
                    return f'"{token}" is not a known time zone (names are case-sensitive: "{same[0]}")'
                if "/" in token:
                    return f'"{token}" is not a known time zone'
                return f'"{token}" is neither part of systemd\'s calendar syntax nor a known time zone'
            return f'"{word}" is not part of systemd\'s calendar syntax (the form is {_FORM})'
    for idx, word in enumerate(folded):
        if word in SHORTHANDS:
            if len(tokens) == 2 and idx == 0 and _is_known_zone(tokens[1], local):
                return f'put exactly one space between "{tokens[0]}" and the time zone'
            return (f'"{tokens[idx]}" stands alone (a time zone may follow); with a date or time, '
                    f'write the full form, e.g. "*-*-* 08:00:00" for every day at 08:00')
    for idx, token in enumerate(tokens):
        words = _WORD.findall(token)
        if idx > 0 and words and all(_is_weekday_word(w) for w in words):
            return f'the weekdays "{token}" must come first (the order is {_FORM})'
    if len(tokens) == 1 and _is_known_zone(tokens[0], local):
        return f'"{tokens[0]}" alone is a time zone, not a calendar event'
    return None

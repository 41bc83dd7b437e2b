"""Hypothesis strategies for systemd inputs: calendar expressions and time spans drawn from the
grammar (systemd.time(7)), with values past the edges and small breakages mixed in."""

from __future__ import annotations

from hypothesis import strategies as st

from stoker.systemd.calendar import SHORTHANDS
from stoker.systemd.timespan import UNITS

_DAYS = ["Mon", "Monday", "Tue", "Tuesday", "Wed", "Wednesday", "Thu", "Thursday", "Fri", "Friday",
         "Sat", "Saturday", "Sun", "Sunday"]
_ZONES = ["UTC", "utc", "Europe/Berlin", "America/New_York", "Etc/GMT+5", "Asia/Kolkata", "CET", "GMT",
          "Mars/Olympus", "cet", "Europe/berlin", "posix/Europe/Berlin", "Berlin"]
# Characters a typo or a misunderstanding brings in.
_NOISE = list("0123456789 ,.-~:/*@") + ["..", "Mon", "at", "am", "x"]


def _recased(words) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({v for w in words for v in (w, w.lower(), w.upper(), w.capitalize())}))


def _weekdays() -> st.SearchStrategy[str]:
    day = _recased(_DAYS)
    item = st.one_of(day, st.tuples(day, st.sampled_from(["..", "-"]), day).map("".join))
    return st.tuples(st.lists(item, min_size=1, max_size=3).map(",".join),
                     st.sampled_from(["", "", ","])).map("".join)


def _number(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(lo, hi), st.sampled_from([1, 2, 2, 4])).map(lambda t: f"{t[0]:0{t[1]}d}")


def _seconds_number() -> st.SearchStrategy[str]:
    fraction = st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=8).map(".".__add__))
    return st.tuples(_number(0, 61), fraction).map("".join)


def _field(number: st.SearchStrategy[str], step: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    component = st.one_of(
        number,
        st.tuples(number, st.just(".."), number).map("".join),
        st.tuples(number, st.just("/"), step).map("".join),
        st.tuples(number, st.just(".."), number, st.just("/"), step).map("".join),
    )
    return st.one_of(st.just("*"), st.lists(component, min_size=1, max_size=3).map(",".join))


def _date() -> st.SearchStrategy[str]:
    year = _field(st.one_of(_number(0, 99), _number(1965, 2205)), _number(0, 250))
    month = _field(_number(0, 14), _number(0, 13))
    day = _field(_number(0, 34), _number(0, 32))
    sep = st.sampled_from(["-", "-", "-", "~"])
    return st.one_of(
        st.tuples(month, sep, day).map("".join),
        st.tuples(year, st.just("-"), month, sep, day).map("".join),
    )


def _time() -> st.SearchStrategy[str]:
    hour = _field(_number(0, 25), _number(0, 25))
    minute = _field(_number(0, 61), _number(0, 61))
    second = _field(_seconds_number(), _seconds_number())
    return st.one_of(
        st.tuples(hour, st.just(":"), minute).map("".join),
        st.tuples(hour, st.just(":"), minute, st.just(":"), second).map("".join),
    )


# Built once: strategies are costly to build, cheap to draw from.
_WEEKDAYS_S, _DATE_S, _TIME_S = _weekdays(), _date(), _time()


@st.composite
def _structured(draw) -> str:
    parts = [p for p in (draw(st.one_of(st.none(), _WEEKDAYS_S)), draw(st.one_of(st.none(), _DATE_S)),
                         draw(st.one_of(st.none(), _TIME_S))) if p is not None]
    if not parts:
        parts = [draw(_TIME_S)]
    zone = draw(st.one_of(st.none(), st.sampled_from(_ZONES)))
    return " ".join(parts + ([zone] if zone else []))


def _shorthand() -> st.SearchStrategy[str]:
    word = _recased(SHORTHANDS)
    return st.tuples(word, st.one_of(st.just(""), st.sampled_from(_ZONES).map(" ".__add__))).map("".join)


def _epoch() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["@", "@", "@+", "@ ", "Mon @"]), st.integers(0, 8_000_000_000).map(str),
                     st.one_of(st.just(""), st.sampled_from(_ZONES).map(" ".__add__))).map("".join)


@st.composite
def _mutated(draw, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "space"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(_NOISE)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + " " + text[at:]
    return text


def _expressions() -> st.SearchStrategy[str]:
    good = st.one_of(_structured(), _structured(), _structured(), _shorthand(), _epoch())
    return st.one_of(good, good, _mutated(good))


_EXPRESSIONS = _expressions()


def expressions() -> st.SearchStrategy[str]:
    """Calendar expressions, valid and slightly broken ones."""
    return _EXPRESSIONS


def _timespans() -> st.SearchStrategy[str]:
    unit = st.one_of(st.sampled_from([u for u, _ in UNITS] + [""]),
                     st.sampled_from(["mins", "secs", "Min", "H", "x", "hrs", "minute s", "sec5"]))
    number = st.one_of(
        st.integers(0, 10_000).map(str),
        st.tuples(st.integers(0, 99).map(str), st.just("."), st.text("0123456789", max_size=9)).map("".join),
        st.integers(0, 2**65).map(str),
        st.sampled_from(["+5", ".5", "-1", "0"]),
    )
    space = st.sampled_from(["", "", " ", "  ", "\t"])
    part = st.tuples(number, space, unit).map("".join)
    span = st.tuples(st.lists(st.tuples(part, space).map("".join), min_size=1, max_size=4).map("".join))\
        .map("".join)
    special = st.sampled_from(["infinity", " infinity ", "infinity 5s", "Infinity", "", " "])
    return st.one_of(span, span, span, _mutated(span), special)


_TIMESPANS = _timespans()


def timespans() -> st.SearchStrategy[str]:
    """Time spans: numbers with units, spaces, fractions; bogus units and breakages mixed in."""
    return _TIMESPANS

"""Time spans: values in microseconds, the human form, and what stoker tells an operator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.systemd.timespan import (UNITS, USEC_INFINITY, USEC_PER_YEAR, TimespanError,
                                     format_timespan, parse_timespan)

from systemd_strategies import timespans


def reason(text: str, **kw) -> str:
    with pytest.raises(TimespanError) as err:
        parse_timespan(text, **kw)
    assert err.value.text == text
    assert isinstance(err.value, ValueError)
    return str(err.value)


@pytest.mark.parametrize("text, usec", [
    ("10min", 600_000_000),
    ("1h 30min", 5_400_000_000),
    ("1h30min", 5_400_000_000),
    ("90", 90_000_000),          # a bare number is seconds
    ("1.5h", 5_400_000_000),
    (".5", 500_000),
    ("1.9999999s", 1_999_999),   # digits past the microsecond are dropped, not rounded
    ("2 h", 7_200_000_000),
    ("55s500ms", 55_500_000),
    ("300ms20s 5day", 432_020_300_000),
    ("1M", 2_629_800_000_000),   # 30.44 days
    ("1y", 31_557_600_000_000),  # 365.25 days
    ("5m", 300_000_000),
    ("5\u00b5s", 5),
    ("5\u03bcs", 5),
    ("infinity", USEC_INFINITY),
    (" infinity ", USEC_INFINITY),
])
def test_values_in_microseconds(text, usec):
    assert parse_timespan(text) == usec


def test_every_unit_spelling_of_the_table_is_understood():
    for name, usec in UNITS:
        assert parse_timespan(f"2{name}") == 2 * usec, name
        assert parse_timespan(f"2 {name}") == 2 * usec, name


@pytest.mark.parametrize("text, expected", [
    ("ten minutes", '"ten minutes" is not a systemd time span (e.g. 10min, 1h 30min, 90s)'),
    ("", "the time span is empty (e.g. 10min, 1h 30min, 90s)"),
    ("  ", "the time span is empty"),
    ("-5", "negative time spans are not allowed"),
    ("10mins", '"mins" is not a time unit (units: us, ms, s, min, h, d, w, M, y; see systemd.time(7))'),
    ("10 Min", 'units are case-sensitive: "min"'),
    ("5x", '"x" is not a time unit'),
    ("5.", '"5." needs digits after the decimal point'),
    ("1.2.3", "a number has at most one decimal point"),
    ("infinity 5s", '"infinity" must stand alone'),
    ("Infinity", 'write "infinity" in lower case'),
    ("18446744073709551615", "is too large"),
    ("584542y 1y", "too large"),
])
def test_reasons_say_what_is_wrong(text, expected):
    assert expected in reason(text)


def test_infinity_can_be_refused_where_it_makes_no_sense():
    # RandomizedDelaySec=infinity is accepted by systemd but postpones the timer for ages.
    assert reason("infinity", allow_infinity=False) == '"infinity" is not allowed here'
    assert parse_timespan("10min", allow_infinity=False) == 600_000_000


@pytest.mark.parametrize("usec, human", [
    (0, "0"),
    (1, "1us"),
    (500, "500us"),
    (1_250, "1.250ms"),
    (1_500_000, "1.500000s"),
    (59_500_000, "59.500000s"),
    (60_000_000, "1min"),
    (61_500_000, "1min 1.500000s"),
    (90_000_000, "1min 30s"),
    (5_400_000_000, "1h 30min"),
    (86_400_000_000, "1d"),
    (2_629_800_000_000, "1month"),
    (34_882_261_001_001, "1y 1month 1w 1d 1h 1min 1.001001s"),
    (USEC_INFINITY, "infinity"),
])
def test_human_form(usec, human):
    assert format_timespan(usec) == human


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 584_541 * USEC_PER_YEAR))
def test_the_human_form_reads_back_to_the_same_value(usec):
    # format_timespan's own promise (time-util.c): its result can be parsed with parse_sec.
    # Not quite: from 584542y on, the years alone overflow parse_sec's check, in systemd too.
    assert parse_timespan(format_timespan(usec)) == usec


def test_the_largest_years_overflow_as_in_systemd():
    assert parse_timespan("584541y") == 584_541 * USEC_PER_YEAR
    assert "too large" in reason("584542y")


@settings(max_examples=200, deadline=None)
@given(timespans())
def test_any_text_is_either_parsed_or_refused_with_a_reason(text):
    try:
        usec = parse_timespan(text)
    except TimespanError as err:
        assert err.reason
    else:
        assert 0 <= usec <= USEC_INFINITY

"""Calendar events: what stoker tells an operator, and the parsed shape (no systemd needed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.systemd import calendar
from stoker.systemd.calendar import (CalendarComponent, CalendarError, CalendarSpec, is_valid_calendar,
                                     parse_calendar, zone_is_valid)

from systemd_strategies import expressions

# Zone names are looked up in this machine's tz database; without one, any well-formed name passes.
needs_tz = pytest.mark.skipif(not calendar._zone_names(), reason="no tz database on this machine")


def reason(text: str, **kw) -> str:
    with pytest.raises(CalendarError) as err:
        parse_calendar(text, **kw)
    assert err.value.text == text
    assert err.value.reason == str(err.value)
    assert isinstance(err.value, ValueError)
    return str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("daily at 8", "\"at\" is not part of systemd's calendar syntax"),
    ("*-*-* 25:00:00", "hour 25 is out of range 0-23"),
    ("*-*-* 23:60:00", "minute 60 is out of range 0-59"),
    ("*-*-* 23:59:60", "second 60 is out of range 0-59"),
    ("*-*-* *:*:59.9999995", "second 60 is out of range 0-59"),
    ("*-13-01", "month 13 is out of range 1-12"),
    ("*-*-32", "day 32 is out of range 1-31"),
    ("*-*-00", "day 0 is out of range 1-31"),
    ("2200-01-01", "year 2200 is out of range 1970-2199"),
    ("*-*~29", "day ~29 is out of range 1-28 (days counted back from the end of the month)"),
    ("", "the expression is empty"),
    ("   ", "the expression is only spaces"),
    (" daily", "leading spaces are not allowed"),
    ("12:00 ", "trailing spaces after the time are not allowed"),
    ("daily\t", "character '\\t' is not allowed"),
    ("today", "\"today\" belongs to a timestamp, not a calendar event"),
    ("5min ago", "\"ago\" belongs to a timestamp, not a calendar event"),
    ("10min", "\"10min\" is a time span, not a calendar event"),
    ("Fri..Mon", "weekday range Fri..Mon runs backwards (weeks run Monday to Sunday: write Mon,Fri..Sun)"),
    ("Mond 12:00", "\"Mond\" is not a weekday (write Mon or Monday)"),
    ("Mon..", "weekday range \"Mon..\" has no end"),
    ("Mon..Tue..Wed", "a weekday range has exactly two ends"),
    ("Mon,12:00", "expected a weekday after \"Mon,\""),
    # Without a tz database, "Tue" and "00" would pass for zone names.
    pytest.param("Mon 12:00 Tue", "the weekdays \"Tue\" must come first", marks=needs_tz),
    ("8pm", "systemd uses 24-hour times"),
    ("*/15:00", "\"*/15\": a repetition needs a start value, write \"0/15\""),
    ("*:*/15", "write \"0/15\""),
    ("*:50/15", "minute \"50/15\" never repeats: 50 + 15 is past 59"),
    ("*:0/60", "the step 60 is larger than the whole range 0-59"),
    ("*:5/0", "the step must be greater than 0"),
    ("10..5:00", "hour range \"10..05\" runs backwards"),
    ("*-*~5/5", "day \"~05/5\" never repeats"),
    ("7", "\"7\" is not a time: write at least HOUR:MINUTE, e.g. \"7:00\""),
    ("1:2:3:4", "a time has at most three parts"),
    ("2003-03-05-01", "a date has at most three parts"),
    ("2003-03-05:12:00", "separate the date and the time with a space"),
    ("2016~11-22", "\"~\" (days counted from the end of the month) goes between month and day"),
    ("12.5:00", "only the seconds may have a fraction"),
    ("12:00:00.", "a decimal point needs digits after it"),
    ("00:00:00.0..00.9", "shorter than its default step of 1 second"),
    pytest.param("12:00 cet", "\"cet\" is not a known time zone (names are case-sensitive: \"CET\")",
                 marks=needs_tz),
    pytest.param("12:00 Europe/Berln", "\"Europe/Berln\" is not a known time zone", marks=needs_tz),
    pytest.param("Europe/Berlin 12:00", "the time zone \"Europe/Berlin\" must come last", marks=needs_tz),
    pytest.param("Europe/Berlin", "\"Europe/Berlin\" alone is a time zone", marks=needs_tz),
    ("daily  UTC", "put exactly one space between \"daily\" and the time zone"),
    ("hourly 12:00", "\"hourly\" stands alone (a time zone may follow)"),
    ("@-1", "before 1970"),
    ("@7258118400", "after 2199-12-31 23:59:59 UTC"),
    ("@5 12:00", "only a time zone may follow \"@SECONDS\""),
    (",".join(map(str, range(242))) + ":00", "lists more than 241 values"),
    pytest.param("12 00", "\"12\" is neither a date (MONTH-DAY) nor a time (HOUR:MINUTE)", marks=needs_tz),
])
def test_reasons_say_what_is_wrong(text, expected):
    assert expected in reason(text)


def test_an_unexplained_refusal_still_shows_the_form():
    assert "not a valid systemd calendar expression; the form is [WEEKDAY]" in reason("*5")


def test_the_parsed_shape():
    spec = parse_calendar("Mon..Fri *-*~1..7/2 07,13:00:00.5 Europe/Berlin")
    assert spec == CalendarSpec(
        weekdays=frozenset({0, 1, 2, 3, 4}), year=None, month=None,
        day=(CalendarComponent(1, 7, 2),), hour=(CalendarComponent(7), CalendarComponent(13)),
        minute=(CalendarComponent(0),), second=(CalendarComponent(500_000),),
        end_of_month=True, timezone="Europe/Berlin")
    assert str(spec) == spec.normalized() == "Mon..Fri *-*~01..07/2 07,13:00:00.500000 Europe/Berlin"


def test_seconds_are_microseconds_and_star_is_every_second():
    assert parse_calendar("*:*:*").second == (CalendarComponent(0, None, 1_000_000),)
    assert parse_calendar("*:*:1.25/0.5").second == (CalendarComponent(1_250_000, None, 500_000),)


def test_is_valid_calendar():
    assert is_valid_calendar("daily")
    assert not is_valid_calendar("daily at 8")


@needs_tz
def test_local_zone_abbreviations_of_a_vm_not_in_utc():
    # A VM whose /etc/localtime is Europe/Berlin: tzname[] is ("CET", "CEST").
    berlin = ("CET", "CEST")
    assert parse_calendar("12:00 cest", local_zone_abbreviations=berlin).normalized() == "*-*-* 12:00:00 CEST"
    assert parse_calendar("12:00 cet", local_zone_abbreviations=berlin).local_zone == "CET"
    # In UTC, "CEST" is no zone file and "cet" no name (they are case-sensitive).
    assert not is_valid_calendar("12:00 CEST")
    assert not is_valid_calendar("12:00 cet")


@needs_tz
def test_zone_names():
    assert zone_is_valid("UTC")
    assert zone_is_valid("Europe/Berlin")
    assert zone_is_valid("posix/Europe/Berlin")
    assert not zone_is_valid("Europe/Berln")
    assert not zone_is_valid("/UTC")
    assert not zone_is_valid("Europe//Berlin")
    assert not zone_is_valid("Europe/")
    assert not zone_is_valid("")


def test_without_a_tz_database_any_well_formed_zone_name_passes(monkeypatch):
    monkeypatch.setattr(calendar, "_zone_names", lambda: frozenset())
    assert zone_is_valid("Mars/Olympus")
    assert not zone_is_valid("Mars//Olympus")
    assert parse_calendar("12:00 Mars/Olympus").timezone == "Mars/Olympus"
    # Words are then not taken for misplaced zones.
    assert "\"at\" is not part of" in reason("daily at 8")


def test_a_nul_character_is_refused():
    assert reason("daily\0") == "a NUL character is not allowed"


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_a_normalized_form_is_valid_and_normalizes_to_itself(text):
    # systemd's own test-calendarspec checks the same: printing loses nothing.
    try:
        normalized = parse_calendar(text).normalized()
    except CalendarError as err:
        assert err.reason
        return
    assert parse_calendar(normalized).normalized() == normalized


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789*-~:.,/@ MonTueUTCdailyx\t")), max_size=30))
def test_any_text_is_either_parsed_or_refused_with_a_reason(text):
    try:
        parse_calendar(text)
    except CalendarError as err:
        assert err.reason

"""stoker against the real systemd-analyze, on inputs hypothesis draws from the grammar.

Runs only where systemd-analyze is installed; each example asks about a batch of inputs in
one call. No disagreement is known, so no input is excluded; what is left out is what the
tools cannot show: a normalized form systemd-analyze did not print (it failed to compute the
next elapse after parsing), and unit names that cannot be file names for `verify`.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.systemd.calendar import CalendarError, parse_calendar
from stoker.systemd.timespan import TimespanError, format_timespan, parse_timespan
from stoker.systemd.unitname import unit_name_problem

import systemd_analyze_runner as analyze
from systemd_strategies import expressions, timespans

pytestmark = pytest.mark.skipif(not analyze.available(),
                                reason="systemd-analyze is not installed: no live cross-check here")

# About 80 batches of 5-15 inputs per test: a few seconds each.
LIVE = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stoker_calendar(text: str, **kw) -> dict:
    try:
        return {"valid": True, "normalized": parse_calendar(text, **kw).normalized()}
    except CalendarError:
        return {"valid": False, "normalized": None}


def _compare_calendar(exprs: list[str], tz: str = "UTC", **kw) -> None:
    for text, theirs in zip(exprs, analyze.calendar(exprs, tz)):
        ours = _stoker_calendar(text, **kw)
        if theirs["valid"] and theirs["normalized"] is None:
            # Parsed, but systemd-analyze could not compute the next elapse and printed nothing.
            assert ours["valid"], text
            continue
        assert ours == theirs, text


@LIVE
@given(st.lists(expressions(), min_size=5, max_size=15))
def test_calendar_expressions_agree_with_systemd(exprs):
    _compare_calendar(exprs)


def test_calendar_in_a_local_zone_that_is_not_utc():
    # systemd-analyze reads tzname[] from TZ; stoker is told the VM's abbreviations.
    exprs = ["12:00 CET", "12:00 cet", "12:00 CEST", "12:00 cest", "daily CEST", "12:00  CET",
             "CET", "12:00 UTC", "12:00 Europe/Berlin", "Mon 08:00"]
    _compare_calendar(exprs, "Europe/Berlin", local_zone_abbreviations=("CET", "CEST"))


@LIVE
@given(st.lists(timespans(), min_size=5, max_size=15))
def test_timespans_agree_with_systemd(spans):
    # systemd-analyze timespan stops at the first refused input: the runner calls it again.
    for text, theirs in zip(spans, analyze.timespan(spans)):
        try:
            usec = parse_timespan(text)
        except TimespanError:
            ours = {"valid": False, "usec": None, "human": None}
        else:
            ours = {"valid": True, "usec": usec, "human": format_timespan(usec)}
        assert ours == theirs, text


_NAME_CHARS = st.sampled_from(list("abcXYZ019:-_.\\@ +,é") + [".service", ".timer", "@", ".", ".foo"])


@LIVE
@given(st.lists(st.lists(_NAME_CHARS, min_size=1, max_size=8).map("".join), min_size=5, max_size=20,
                unique=True))
def test_unit_names_agree_with_systemd(names):
    # File names only: not "." or ".."; short, as verify renames a template NAME@.service
    # to NAME@i.service, which could outgrow 255 characters.
    names = [n for n in names if n not in (".", "..")]
    for name, theirs in zip(names, analyze.unit_names(names)):
        assert (unit_name_problem(name) is None) == theirs["valid"], name

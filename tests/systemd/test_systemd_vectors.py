"""stoker agrees with systemd's recorded verdicts (vectors.json, made by make_vectors.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stoker.systemd import calendar
from stoker.systemd.calendar import CalendarError, parse_calendar
from stoker.systemd.timespan import TimespanError, format_timespan, parse_timespan
from stoker.systemd.unitname import unit_name_problem

VECTORS = json.loads(Path(__file__).with_name("vectors.json").read_text())


def _ids(entries):
    return [repr(e["input"])[:60] for e in entries]


def test_the_vectors_say_where_they_come_from():
    assert VECTORS["systemd"].startswith("systemd 2")
    assert VECTORS["TZ"] == "UTC"
    assert len(VECTORS["calendar"]) >= 150
    assert len(VECTORS["timespan"]) >= 60
    assert sum(e["valid"] for e in VECTORS["calendar"]) >= 50
    assert sum(not e["valid"] for e in VECTORS["calendar"]) >= 50


@pytest.mark.parametrize("vector", VECTORS["calendar"], ids=_ids(VECTORS["calendar"]))
def test_calendar_matches_systemd(vector):
    words = vector["input"].split(" ")
    if not calendar._zone_names() and len(words) > 1 and words[-1].upper() != "UTC" \
            and calendar._ZONE_SYNTAX.fullmatch(words[-1]):
        pytest.skip("no tz database on this machine: any well-formed zone name is taken")
    if vector["valid"]:
        assert parse_calendar(vector["input"]).normalized() == vector["normalized"]
    else:
        with pytest.raises(CalendarError) as err:
            parse_calendar(vector["input"])
        assert str(err.value)  # every refusal says why


@pytest.mark.parametrize("vector", VECTORS["timespan"], ids=_ids(VECTORS["timespan"]))
def test_timespan_matches_systemd(vector):
    if vector["valid"]:
        usec = parse_timespan(vector["input"])
        assert (usec, format_timespan(usec)) == (vector["usec"], vector["human"])
    else:
        with pytest.raises(TimespanError) as err:
            parse_timespan(vector["input"])
        assert str(err.value)


@pytest.mark.parametrize("vector", VECTORS["unit_names"], ids=_ids(VECTORS["unit_names"]))
def test_unit_name_matches_systemd(vector):
    problem = unit_name_problem(vector["input"])
    assert (problem is None) == vector["valid"], problem

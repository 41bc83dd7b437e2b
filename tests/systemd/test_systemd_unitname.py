"""Unit names: systemd's rules, the 255-character limit, and names built from stoker's."""

from __future__ import annotations

import pytest

from stoker.systemd.unitname import (QUADLET_SERVICE_SUFFIXES, UNIT_TYPES, longest_base_name,
                                     unit_name_problem)


def test_the_unit_types_are_systemds():
    assert UNIT_TYPES == ("service", "socket", "target", "device", "mount", "automount", "swap",
                          "timer", "path", "slice", "scope")


@pytest.mark.parametrize("name", [
    "backup.service", "ims-updates.service", "tracker.timer", "a.b.c.service", "foo:bar.service",
    "foo\\x2dbar.service", "-.slice", "foo@bar.service", "foo@.service", "foo@bar@baz.service",
    "x" * 247 + ".service",
])
def test_valid_names(name):
    assert unit_name_problem(name) is None


@pytest.mark.parametrize("name, expected", [
    ("", "the unit name is empty"),
    ("x" * 248 + ".service", "the unit name is 256 characters long; systemd allows at most 255, suffix included"),
    ("x" * 270 + ".service", "the unit name is 278 characters long; systemd allows at most 255"),
    ("\u00e9" * 130 + ".service", "the unit name is 268 bytes long"),
    ("backup", '"backup" has no unit type suffix (e.g. "backup.service")'),
    (".service", 'nothing comes before ".service"'),
    ("foo.Service", '".Service" is not a unit type (one of: service, socket, target'),
    ("foo.container", '".container" is a Quadlet file, not a unit: systemd sees "foo.service"'),
    ("foo.volume", 'systemd sees "foo-volume.service"'),
    ("a b.service", '" " is not allowed in a unit name (only A-Z a-z 0-9 : - _ . \\ and @)'),
    ("a+b,c.service", '"+", "," are not allowed in a unit name'),
    ("d\u00e9j\u00e0.service", '"\u00e9", "\u00e0" are not allowed'),
    ("foo/bar.service", '"/" is not allowed'),
    ("@foo.service", 'nothing comes before "@" in "@foo.service"'),
])
def test_invalid_names_say_why(name, expected):
    problem = unit_name_problem(name)
    assert problem is not None and expected in problem


def test_the_limit_is_255_characters_suffix_included():
    assert unit_name_problem("a" * 247 + ".service") is None
    assert unit_name_problem("a" * 248 + ".service") is not None
    assert unit_name_problem("a" * 249 + ".timer") is None
    assert unit_name_problem("a" * 250 + ".timer") is not None


def test_kinds_of_names():
    plain = ("plain",)
    assert unit_name_problem("foo.service", allow=plain) is None
    assert unit_name_problem("foo@.service", allow=plain) == \
        '"foo@.service" is a template (nothing between "@" and ".service"), not a unit that runs'
    assert unit_name_problem("foo@bar.service", allow=plain) == \
        '"@" makes "foo@bar.service" an instance of the template "foo@.service"'
    assert unit_name_problem("foo.service", allow=("instance",)) == '"foo.service" has no "@INSTANCE"'
    assert unit_name_problem("foo@bar.service", allow=("instance",)) is None
    assert unit_name_problem("foo@.service", allow=("template",)) is None
    with pytest.raises(ValueError):
        unit_name_problem("foo.service", allow=("glob",))


@pytest.mark.parametrize("suffix, longest", [
    ("service", 247), (".service", 247), ("timer", 249), ("automount", 245), ("slice", 249),
    # NAME.container becomes NAME.service; the file name NAME.container must fit in 255 bytes too.
    ("container", 245), ("kube", 247), ("volume", 240), ("network", 239), ("pod", 243),
    ("image", 241), ("build", 241),
])
def test_longest_base_name(suffix, longest):
    assert longest_base_name(suffix) == longest


def test_longest_base_names_are_the_edge_of_validity():
    for unit_type in UNIT_TYPES:
        n = longest_base_name(unit_type)
        assert unit_name_problem("a" * n + "." + unit_type) is None
        assert unit_name_problem("a" * (n + 1) + "." + unit_type) is not None
    for quadlet, extra in QUADLET_SERVICE_SUFFIXES.items():
        n = longest_base_name(quadlet)
        assert unit_name_problem("a" * n + extra + ".service") is None
        assert len(("a" * n + "." + quadlet).encode()) <= 255


def test_longest_base_name_of_an_unknown_suffix():
    with pytest.raises(ValueError):
        longest_base_name("txt")

"""Booleans as yaml.v3 v3.0.1 decodes them into a Go bool (resolve.go, decode.go
scalar()): a plain true/True/TRUE/false/False/FALSE is a !!bool; any other
scalar is a !!str, and a !!str (plain, quoted or tagged) becomes a bool only if
it is one of YAML 1.1's words y Y yes Yes YES on On ON / n N no No NO off Off OFF."""

from __future__ import annotations

import pytest

from stoker.butane import translate

HEAD = ("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n  - path: /a\n    contents:\n"
        "      inline: x\n    overwrite: ")


def overwrite(value: str):
    result = translate(HEAD + value + "\n")
    return result


@pytest.mark.parametrize("value, want", [
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("yes", True), ("Yes", True), ("YES", True), ("on", True), ("ON", True), ("y", True),
    ("Y", True), ("no", False), ("NO", False), ("off", False), ("Off", False), ("n", False),
    ('"yes"', True), ("'on'", True), ('"n"', False), ("!!str yes", True), ("'OFF'", False),
])
def test_accepted(value, want):
    result = overwrite(value)
    assert result.ok, result.error
    assert result.config["storage"]["files"][0]["overwrite"] is want


@pytest.mark.parametrize("value", ["tRUE", "yEs", "oN", "nO", "fALSE", "Yes!", '"true"',
                                   "'false'"])
def test_refused(value):
    result = overwrite(value)
    shown = value.strip("'\"")
    assert result.error == ("yaml: unmarshal errors:\n  line 8: cannot unmarshal !!str "
                            f"`{shown}` into bool"), result.error

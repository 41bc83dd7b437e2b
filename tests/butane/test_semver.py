"""The `version` field parsed as go-semver (coreos/go-semver, used by Butane
v0.29.0 config/config.go) parses it: strconv.ParseInt numbers (leading zeros
accepted; a sign never reaches them: "+" and "-" split off metadata and pre-release), empty pre-release or build metadata accepted, identifiers
checked; the registry is keyed and messages worded by the normalized String()."""

from __future__ import annotations

import pytest

from stoker.butane import translate


@pytest.mark.parametrize("version", ["01.4.0", "1.04.0", "1.4.00", "1.4.0-", "1.4.0+",
                                     "1.4.0-+"])
def test_lenient_forms_read_as_1_4_0(version):
    result = translate(f"variant: fcos\nversion: {version}\n")
    assert result.ok, result.error
    assert result.to_json() == '{"ignition":{"version":"3.3.0"}}'


def test_unknown_version_is_named_normalized():
    result = translate("variant: fcos\nversion: 01.9.0\n")
    assert result.error == "No translator exists for variant fcos with version 1.9.0"


@pytest.mark.parametrize("version", ["1.4.0-a..b", "1.4", "1.4.0.0", "a.4.0", "1.4.0-é",
                                     "1.4.0+a..b", "99999999999999999999.4.0", "1._4.0", "1. 4.0",
                                     "+1.4.0", "1.+4.0"])  # "+" splits off metadata first
def test_invalid_semver(version):
    result = translate(f"variant: fcos\nversion: '{version}'\n")
    assert result.error == "error parsing version; must be a valid semver"

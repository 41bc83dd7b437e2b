"""What changes between the Ignition spec versions stoker knows, as data.

Each field, type change or rule that is not in every supported version is
named here once, with the first version that has it; the struct table
(structs.py), validation and the schema generator ask this table instead of
keeping a copied module per version. A change that *removes* something is named
after what replaces it, and the old behaviour is "not has(version, feature)".

Source of every entry: coreos/ignition v2.26.0 (the Ignition that Butane
v0.29.0 vendors, see its go.mod), config/v3_*/types/*.go, compared version by
version. That release's 3.7.0-experimental is 3.6.0 with a new version number,
so no feature starts there.
"""

from __future__ import annotations

import re

SUPPORTED_VERSIONS = ("3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0", "3.7.0-experimental")

# feature -> first version that has it.
INTRODUCED = {
    # -- 3.1.0 --
    "resource": "3.1.0",                     # one Resource type for file contents, merge/replace configs and
                                             # CAs: compression and httpHeaders on all of them, and a
                                             # "source is required" rule for merge and CA entries (3.0 has
                                             # FileContents, ConfigReference and CaReference)
    "httpHeaders": "3.1.0",                  # resource.httpHeaders
    "proxy": "3.1.0",                        # ignition.proxy
    "filesystem.mountOptions": "3.1.0",
    "verification.sha256": "3.1.0",          # sha256-<hex> next to sha512-<hex>
    # -- 3.2.0 --
    "luks": "3.2.0",                         # storage.luks with clevis (pointer structs in 3.2) and tang
    "partition.resize": "3.2.0",
    "passwd.shouldExist": "3.2.0",           # users and groups
    "url.gs": "3.2.0",                       # gs:// sources
    # -- 3.3.0 --
    "kernelArguments": "3.3.0",
    "format.none": "3.3.0",                  # filesystem format "none"
    "clevis.custom_optional": "3.3.0",       # clevis and its custom pin/config become optional values: an
                                             # empty pin is "missing required custom clevis pin", and custom
                                             # counts as used only when its pin is set (3.2: when present)
    "link.target_optional": "3.3.0",         # link target becomes optional; rule "link target is required"
    "raid.level_optional": "3.3.0",          # raid level and devices become optional; new rule
                                             # "raid level is required"
    # -- 3.4.0 --
    "luks.discard": "3.4.0",
    "luks.openOptions": "3.4.0",
    "tang.advertisement": "3.4.0",
    "url.arn": "3.4.0",                      # S3 access point ARNs as sources
    # -- 3.5.0 --
    "luks.cex": "3.5.0",
    # -- 3.6.0 --
    "mode.special_bits": "3.6.0",            # setuid/setgid/sticky applied (warned about before)
    "clevis.custom_pin_any": "3.6.0",        # custom pin name no longer restricted
}

_INTEGER = re.compile(r"[0-9]+")  # ParseInt's sign cannot occur: "+" and "-" were split off first
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*")
_INT64 = 1 << 63

SemVer = tuple  # (major, minor, patch, pre-release, metadata), as go-semver's Version struct


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


def has(version: str, feature: str) -> bool:
    """True if `feature` exists in spec `version`; KeyError for an unknown feature name."""
    return _key(version) >= _key(INTRODUCED[feature])


def check_supported(version: str) -> None:
    """Raise ValueError unless `version` is one of SUPPORTED_VERSIONS."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported Ignition spec version {version!r}; "
                         f"expected one of {', '.join(SUPPORTED_VERSIONS)}")


def parse_semver(text: str) -> SemVer | None:
    """The version as go-semver's Version.Set reads it, or None where it fails.

    Source: github.com/coreos/go-semver/semver/semver.go (vendored by Ignition).
    It is laxer than the SemVer spec: "03.0.0" reads as 3.0.0 and an empty
    pre-release ("3.0.0-") is accepted; numbers are strconv.ParseInt(s, 10, 64).
    """
    rest, _, metadata = text.partition("+")
    rest, _, pre_release = rest.partition("-")
    parts = rest.split(".", 2)
    if len(parts) != 3:
        return None
    for identifier in (pre_release, metadata):
        if identifier and not _IDENTIFIER.fullmatch(identifier):
            return None
    numbers = []
    for part in parts:
        if not _INTEGER.fullmatch(part):
            return None
        number = int(part)
        if not -_INT64 <= number < _INT64:
            return None
        numbers.append(number)
    return (*numbers, pre_release, metadata)


_SPECS = {parse_semver(version): version for version in SUPPORTED_VERSIONS}


def spec_of(text: str) -> str | None:
    """The supported spec that Ignition would parse a config of version `text` as, or None.

    Ignition compares the whole go-semver Version struct with each spec's
    MaxVersion (config/v3_*/config.go), so build metadata makes a version
    unsupported and leading zeros do not.
    """
    parsed = parse_semver(text)
    return None if parsed is None else _SPECS.get(parsed)

"""What changes between the Ignition spec versions stoker emits, as data.

Each rule or field that is not in every supported version is named here once,
with the versions it applies to; validation and the schema generator ask this
table instead of keeping a copied module per version.
"""

from __future__ import annotations

SUPPORTED_VERSIONS = ("3.3.0", "3.4.0", "3.5.0", "3.6.0")

# feature -> first version that has it (None: present in every supported one).
INTRODUCED = {
    # fields
    "luks.discard": "3.4.0",
    "luks.openOptions": "3.4.0",
    "tang.advertisement": "3.4.0",
    "luks.cex": "3.5.0",
    # rules
    "url.arn": "3.4.0",                      # S3 access point ARNs as sources
    "mode.special_bits": "3.6.0",            # setuid/setgid/sticky actually applied
    "clevis.custom_pin_any": "3.6.0",        # custom pin name no longer restricted
}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


def has(version: str, feature: str) -> bool:
    """True if `feature` exists in spec `version`."""
    since = INTRODUCED[feature]
    return since is None or _key(version) >= _key(since)


def check_supported(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported Ignition spec version {version!r}; "
                         f"expected one of {', '.join(SUPPORTED_VERSIONS)}")

"""The Butane specs stoker translates, as data: each variant and version with the
Ignition spec it produces and the schema level it builds on (SPEC-VARIANTS §1).

A spec's *level* is the fcos release whose base schema and base rules apply:
fcos 1.N is level (1, N); flatcar 1.0.0 is base v0_4, so level (1, 4); the
experimental specs build on base v0_8_exp, level (1, 8). The fcos-only parts
(boot_device, grub, the partition and top-level checks) run for the fcos variant
alone; the other variants add nothing but their field filters.

Source: coreos/butane v0.29.0, config/config.go (registry), config/*/v*/schema.go
(bases) and translate.go (filters), config/common/errors.go (messages).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    variant: str
    version: str  # as written in the document: "1.3.0", "1.8.0-experimental"
    ignition: str  # the Ignition spec version of the output
    level: tuple[int, int]

    @property
    def fcos(self) -> bool:
        return self.variant == "fcos"


SPECS: dict[tuple[str, str], Spec] = {(s.variant, s.version): s for s in (
    Spec("fcos", "1.0.0", "3.0.0", (1, 0)),
    Spec("fcos", "1.1.0", "3.1.0", (1, 1)),
    Spec("fcos", "1.2.0", "3.2.0", (1, 2)),
    Spec("fcos", "1.3.0", "3.2.0", (1, 3)),
    Spec("fcos", "1.4.0", "3.3.0", (1, 4)),
    Spec("fcos", "1.5.0", "3.4.0", (1, 5)),
    Spec("fcos", "1.6.0", "3.5.0", (1, 6)),
    Spec("fcos", "1.7.0", "3.6.0", (1, 7)),
)}


# Registered only to fail (config/config.go, config/common/errors.go).
REMOVED: dict[tuple[str, str], str] = {
    ("rhcos", "0.1.0"): "rhcos variant has been removed; use openshift variant instead: "
                        "https://coreos.github.io/butane/upgrading-openshift/",
}

# Registered by the official tool but not implemented here (MachineConfig output, --raw).
NOT_IMPLEMENTED = frozenset(
    [("openshift", f"4.{minor}.0") for minor in range(8, 23)]
    + [("openshift", "4.23.0-experimental")])


def find(variant: str, version: str) -> Spec | None:
    """The registered spec of a document's variant and semver string (so
    "1.8.0" and "1.4.0+build" are not registered)."""
    return SPECS.get((variant, version))

"""The Butane specs stoker translates, as data: each variant and version with the
Ignition spec it produces, the schema level it builds on, and what the variant
forbids (SPEC-VARIANTS §1, §3, §6).

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
class Filter:
    """An output (Ignition) path whose non-empty value is an error. `*` stands
    for every item of a list."""
    path: tuple
    message: str


@dataclass(frozen=True)
class Spec:
    variant: str
    version: str  # as written in the document: "1.3.0", "1.8.0-experimental"
    ignition: str  # the Ignition spec version of the output
    level: tuple[int, int]
    filters: tuple[Filter, ...] = ()

    @property
    def fcos(self) -> bool:
        return self.variant == "fcos"


_CLEVIS = Filter(("storage", "luks", "*", "clevis"), "clevis is not supported in this spec version")
_CEX = Filter(("storage", "luks", "*", "cex"),
              "cex is not currently supported on the target platform")
# r4e and fiot: no disk layout of their own (config/r4e/v1_*/translate.go, config/fiot/v1_*/translate.go)
_EDGE = (
    Filter(("kernelArguments",), "kernel argument customization is not supported in this spec version"),
    Filter(("storage", "disks"), "disk customization is not supported in this spec version"),
    Filter(("storage", "filesystems"), "filesystem customization is not supported in this spec version"),
    Filter(("storage", "luks"), "luks is not supported in this spec version"),
    Filter(("storage", "raid"), "raid is not supported in this spec version"),
)

EXP = "3.7.0-experimental"

SPECS: dict[tuple[str, str], Spec] = {(s.variant, s.version): s for s in (
    Spec("fcos", "1.0.0", "3.0.0", (1, 0)),
    Spec("fcos", "1.1.0", "3.1.0", (1, 1)),
    Spec("fcos", "1.2.0", "3.2.0", (1, 2)),
    Spec("fcos", "1.3.0", "3.2.0", (1, 3)),
    Spec("fcos", "1.4.0", "3.3.0", (1, 4)),
    Spec("fcos", "1.5.0", "3.4.0", (1, 5)),
    Spec("fcos", "1.6.0", "3.5.0", (1, 6)),
    Spec("fcos", "1.7.0", "3.6.0", (1, 7)),
    Spec("fcos", "1.8.0-experimental", EXP, (1, 8)),
    Spec("flatcar", "1.0.0", "3.3.0", (1, 4), (_CLEVIS,)),
    Spec("flatcar", "1.1.0", "3.4.0", (1, 5), (_CLEVIS,)),
    Spec("flatcar", "1.2.0-experimental", EXP, (1, 8), (_CEX,)),
    Spec("r4e", "1.0.0", "3.3.0", (1, 4), _EDGE),
    Spec("r4e", "1.1.0", "3.4.0", (1, 5), _EDGE),
    Spec("r4e", "1.2.0-experimental", EXP, (1, 8), _EDGE),
    Spec("fiot", "1.0.0", "3.4.0", (1, 5), _EDGE),
    Spec("fiot", "1.1.0-experimental", EXP, (1, 8), _EDGE),
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


def apply_filters(spec: Spec, config: dict) -> list[tuple[tuple, str]]:
    """(output path, message) for each filtered field that is set, in the output's
    order (config/util/filter.go walks the generated struct)."""
    from .jsonout import prune

    if not spec.filters:
        return []
    found: list[tuple[tuple, str]] = []
    _walk(prune(config, level=spec.level), (), spec.filters, found)
    return found


def _walk(value, path: tuple, filters, found) -> None:
    for f in filters:
        if _matches(f.path, path):
            found.append((path, f.message))
            return
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, path + (k,), filters, found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, path + (i,), filters, found)


def _matches(pattern: tuple, path: tuple) -> bool:
    return len(pattern) == len(path) and all(
        p == "*" and isinstance(k, int) or p == k for p, k in zip(pattern, path))

"""The Butane specs stoker translates, as data: each variant and version with the
Ignition spec it produces, the schema level it builds on, what the variant
forbids, and for openshift which of its rules a version applies
(SPEC-VARIANTS §1, §3, §6, §7.7).

A spec's *level* is the fcos release whose base schema and base rules apply:
fcos 1.N is level (1, N); flatcar 1.0.0 is base v0_4, so level (1, 4); the
experimental specs build on base v0_8_exp, level (1, 8); openshift 4.M builds on
a whole fcos release (4.8-4.13 on fcos 1.3.0, 4.14-4.18 on 1.5.0, 4.19-4.22 on
1.6.0, 4.23.0-experimental on 1.8.0-experimental). The fcos parts (boot_device,
grub, the partition checks) run for fcos and openshift; the fcos top-level checks
of 1.6.0+ for fcos alone (openshift's own top-level check hides them, §7.2a);
flatcar, r4e and fiot add nothing but their field filters.

Source: coreos/butane v0.29.0, config/config.go (registry), config/*/v*/schema.go
(bases), translate.go (filters) and validate.go, config/openshift/v4_*/ (the
openshift rules), config/common/errors.go (messages).
"""

from __future__ import annotations

from ..values import Value


class Filter(Value):
    """An output (Ignition) path whose non-empty value is an error, with the
    message. `*` stands for every item of a list. With `ignore_zero`, a set but
    zero scalar ("", 0, false) counts as empty too (config/util/filter.go
    NewFiltersIgnoreZero). A value."""

    __slots__ = ("path", "message", "ignore_zero")

    def __init__(self, path: tuple, message: str, ignore_zero: bool = False) -> None:
        self.path = path
        self.message = message
        self.ignore_zero = ignore_zero


class OpenShift(Value):
    """Which openshift rules one openshift version applies (SPEC-VARIANTS §7.7;
    the diffs between consecutive config/openshift/v4_*/translate.go and
    validate.go). A value.

    minor               4.<minor>
    auto_compression    inline/local contents may be gzipped (4.10+)
    fips_cipher         fips adds "--cipher aes-cbc-essiv:sha256" to LUKS (4.8-4.19)
    special_mode_check  file modes beyond 0777 are errors (4.10+)
    format_none_check   filesystem format "none" is an error (4.14+)
    cex_check           CEX needs rd.luks.key=/etc/luks/cex.key (4.19+)
    grub_contents       the grub user.cfg append becomes contents (4.23)
    """

    __slots__ = ("minor", "auto_compression", "fips_cipher", "special_mode_check",
                 "format_none_check", "cex_check", "grub_contents")

    def __init__(self, minor: int, auto_compression: bool, fips_cipher: bool,
                 special_mode_check: bool, format_none_check: bool, cex_check: bool,
                 grub_contents: bool) -> None:
        self.minor = minor
        self.auto_compression = auto_compression
        self.fips_cipher = fips_cipher
        self.special_mode_check = special_mode_check
        self.format_none_check = format_none_check
        self.cex_check = cex_check
        self.grub_contents = grub_contents


class Spec(Value):
    """One registered spec (a value).

    variant    "fcos", "flatcar", "r4e", "fiot" or "openshift"
    version    as written in the document: "1.3.0", "1.8.0-experimental"
    ignition   the Ignition spec version of the output
    level      the schema level it builds on (module docstring)
    filters    the variant's field filters (Filter)
    openshift  the openshift rules (openshift only; else None)
    """

    __slots__ = ("variant", "version", "ignition", "level", "filters", "openshift")

    def __init__(self, variant: str, version: str, ignition: str, level: tuple[int, int],
                 filters: tuple[Filter, ...] = (), openshift: OpenShift | None = None) -> None:
        self.variant = variant
        self.version = version
        self.ignition = ignition
        self.level = level
        self.filters = filters
        self.openshift = openshift

    @property
    def fcos(self) -> bool:
        """The fcos variant itself (its top-level checks of 1.6.0+ run)."""
        return self.variant == "fcos"

    @property
    def fcos_sugar(self) -> bool:
        """boot_device, grub and the partition checks run (fcos and openshift,
        which translates with the fcos release it builds on)."""
        return self.variant in ("fcos", "openshift")

    @property
    def auto_compression(self) -> bool:
        """Inline and local contents may be gzipped (all but openshift 4.8/4.9)."""
        return self.openshift is None or self.openshift.auto_compression


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

# -- openshift ---------------------------------------------------------------------
# (config/openshift/v4_*/schema.go, translate.go, validate.go)

# (first minor, last minor, fcos level it builds on, Ignition spec)
_OPENSHIFT_BASES = (
    (8, 13, (1, 3), "3.2.0"),
    (14, 18, (1, 5), "3.4.0"),
    (19, 22, (1, 6), "3.5.0"),
    (23, 23, (1, 8), EXP),
)
_OPENSHIFT_LAST = 23
# rule -> (first minor, last minor) of the versions that apply it
_OPENSHIFT_RULES = {
    "auto_compression": (10, _OPENSHIFT_LAST),
    "compression_filter": (8, 9),
    "password_hash_filter": (8, 12),
    "special_mode_check": (10, _OPENSHIFT_LAST),
    "format_none_check": (14, _OPENSHIFT_LAST),
    "kernel_arguments_filter": (14, _OPENSHIFT_LAST),
    "fips_cipher": (8, 19),
    "cex_check": (19, _OPENSHIFT_LAST),
    "grub_contents": (23, _OPENSHIFT_LAST),
}
_USER_FIELDS = ("gecos", "groups", "homeDir", "noCreateHome", "noLogInit", "noUserGroup",
                "passwordHash", "primaryGroup", "shell", "shouldExist", "system", "uid")
_USER_FIELD_MESSAGE = ('fields other than "name", "ssh_authorized_keys", and "password_hash" '
                       "(4.13.0+) are not supported in this spec version")


def _applies(rule: str, minor: int) -> bool:
    first, last = _OPENSHIFT_RULES[rule]
    return first <= minor <= last


def _openshift_filters(minor: int) -> tuple[Filter, ...]:
    """The field filters of openshift 4.<minor> (SPEC-VARIANTS §7.4), as output
    paths below spec.config."""
    filters = [Filter(("passwd", "groups"), "groups are not supported in this spec version")]
    filters += [Filter(("passwd", "users", "*", name), _USER_FIELD_MESSAGE) for name in _USER_FIELDS
                if name != "passwordHash" or _applies("password_hash_filter", minor)]
    filters += [
        Filter(("storage", "directories"), "directories are not supported in this spec version"),
        Filter(("storage", "files", "*", "append"),
               "appending to files is not supported in this spec version"),
        Filter(("storage", "files", "*", "contents", "httpHeaders"),
               "file HTTP headers are not supported in this spec version"),
        Filter(("storage", "links"), "links are not supported in this spec version"),
    ]
    if _applies("compression_filter", minor):
        filters.append(Filter(("storage", "files", "*", "contents", "compression"),
                              "file compression is not supported in this spec version",
                              ignore_zero=True))
    if _applies("kernel_arguments_filter", minor):
        filters.append(Filter(("kernelArguments",), "this section cannot be used for kernel "
                              "arguments in this spec version; use openshift.kernel_arguments "
                              "instead"))
    return tuple(filters)


def _openshift_specs():
    for first, last, level, ignition in _OPENSHIFT_BASES:
        for minor in range(first, last + 1):
            version = f"4.{minor}.0" + ("-experimental" if ignition == EXP else "")
            rules = OpenShift(minor, **{name: _applies(name, minor) for name in (
                "auto_compression", "fips_cipher", "special_mode_check", "format_none_check",
                "cex_check", "grub_contents")})
            yield Spec("openshift", version, ignition, level, _openshift_filters(minor), rules)


SPECS.update({(s.variant, s.version): s for s in _openshift_specs()})


# Registered only to fail (config/config.go, config/common/errors.go).
REMOVED: dict[tuple[str, str], str] = {
    ("rhcos", "0.1.0"): "rhcos variant has been removed; use openshift variant instead: "
                        "https://coreos.github.io/butane/upgrading-openshift/",
}


def find(variant: str, version: str) -> Spec | None:
    """The registered spec of a document's variant and semver string (so
    "1.8.0" and "1.4.0+build" are not registered)."""
    return SPECS.get((variant, version))


def supported_hint(variant: str) -> str:
    """A line naming what is supported: the versions of a known variant, in
    order, else the known variants (stoker's own help; not the official text)."""
    def order(version: str):
        numbers, _, pre = version.partition("-")
        return tuple(int(n) for n in numbers.split(".")), pre == ""

    versions = sorted((v for (name, v) in SPECS if name == variant), key=order)
    if versions:
        return f"Supported {variant} versions: {', '.join(versions)}"
    return f"Known variants: {', '.join(sorted({name for name, _ in SPECS}))}"


def apply_filters(spec: Spec, config: dict) -> list[tuple[tuple, str]]:
    """(output path, message) for each filtered field that is set, in the output's
    order (config/util/filter.go walks the generated struct). For openshift the
    official paths start with spec.config; these are relative to the config."""
    from .jsonout import prune

    if not spec.filters:
        return []
    found: list[tuple[tuple, str]] = []
    _walk(prune(config, level=spec.level), (), spec.filters, found)
    return found


def _walk(value, path: tuple, filters, found) -> None:
    for f in filters:
        if _matches(f.path, path):
            if not (f.ignore_zero and value in ("", 0, False)):
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

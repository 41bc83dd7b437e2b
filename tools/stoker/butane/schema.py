"""The Butane schema as data: every struct, its fields, and the spec level that
introduced each field.

One table serves every variant and version. A spec has a *level* (specs.py): the
fcos release whose base schema it builds on, (1, 0) to (1, 8). A field is accepted
when the level is at least its `since` and below its `until`, and, for the few
variant-specific sections (`boot_device` and `grub` of fcos and openshift,
`metadata` and `openshift` of openshift), when the variant is one of its
`variants`. Fields are listed in the order of the Ignition output (the Go struct
order, SPEC §2), which is also the order Butane validates them in. One name may
appear twice with different types in different levels (fcos 1.0.0's
ConfigReference became a Resource in 1.1.0).
"""

from __future__ import annotations

from ..values import Value

STR, INT, BOOL = "str", "int", "bool"

# fcos spec version -> Ignition spec version (the released fcos specs of specs.py)
FCOS_VERSIONS: dict[tuple[int, int], str] = {
    (1, 0): "3.0.0",
    (1, 1): "3.1.0",
    (1, 2): "3.2.0",
    (1, 3): "3.2.0",
    (1, 4): "3.3.0",
    (1, 5): "3.4.0",
    (1, 6): "3.5.0",
    (1, 7): "3.6.0",
}


class ListOf(Value):
    """A list of `item` (STR/INT/BOOL or a Struct); a value."""

    __slots__ = ("item",)

    def __init__(self, item) -> None:
        self.item = item


class MapOf(Value):
    """A mapping of string keys to `item` values (openshift metadata.labels, a Go
    map[string]string); a value."""

    __slots__ = ("item",)

    def __init__(self, item) -> None:
        self.item = item


class Field(Value):
    """One field of a Butane struct.

    name          the Butane (snake_case) name
    type          STR, INT, BOOL, ListOf, MapOf or Struct
    since         the first level with it
    sugar         Butane-only: never copied to Ignition
    always        emitted even when empty (non-pointer Go field)
    omit_zero     non-pointer Go int/str with omitempty: 0/"" omitted
    until         first level without it (None: still there)
    variants      the variants that have it (None: every variant)
    always_until  non-omitempty in Ignition before this level
    ign           the Ignition (camelCase) name, from `name`
    """

    __slots__ = ("name", "type", "since", "sugar", "always", "omit_zero", "until", "variants",
                 "always_until", "ign")
    __hash__ = None

    def __init__(self, name: str, type, since: tuple[int, int] = (1, 0), sugar: bool = False,
                 always: bool = False, omit_zero: bool = False, until: tuple[int, int] | None = None,
                 variants: frozenset | None = None,
                 always_until: tuple[int, int] | None = None) -> None:
        self.name = name
        self.type = type
        self.since = since
        self.sugar = sugar
        self.always = always
        self.omit_zero = omit_zero
        self.until = until
        self.variants = variants
        self.always_until = always_until
        self.ign = camel(name)

    def exists(self, level: tuple[int, int], variant: str = "fcos") -> bool:
        return level >= self.since and (self.until is None or level < self.until) \
            and (self.variants is None or variant in self.variants)

    def always_at(self, level: tuple[int, int] | None) -> bool:
        return self.always or (level is not None and self.always_until is not None
                               and level < self.always_until)


class Struct(Value):
    """A Butane struct: its name and fields, in the order of the Ignition output."""

    __slots__ = ("name", "fields", "by_name", "by_ign", "_at")
    __hash__ = None

    def __init__(self, name: str, fields: list[Field] | None = None) -> None:
        self.name = name
        self.fields = [] if fields is None else fields
        self._at: dict = {}  # fields_at's answers: (version, variant) -> tuple of fields
        # the newest definition of each name (fields without `until`)
        self.by_name = {f.name: f for f in self.fields if f.until is None}
        self.by_ign = {f.ign: f for f in self.fields if not f.sugar and f.until is None}

    def __repr__(self) -> str:  # not the fields: structs nest (and a Field shows its type)
        return f"Struct({self.name!r})"

    def __eq__(self, other):  # by name and fields, not the derived tables
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.name == other.name and self.fields == other.fields

    def accepts(self, name: str, version: tuple[int, int], variant: str = "fcos") -> Field | None:
        for f in self.fields:
            if f.name == name and f.exists(version, variant):
                return f
        return None

    def fields_at(self, version: tuple[int, int] | None, variant: str | None = None) -> tuple[Field, ...]:
        """The fields of one level (all newest definitions when `version` is None),
        remembered per level and variant: translation asks once per struct value."""
        key = (version, variant)
        found = self._at.get(key)
        if found is None:
            if version is None:
                found = tuple(f for f in self.fields if f.until is None)
            else:
                found = tuple(f for f in self.fields
                              if version >= f.since and (f.until is None or version < f.until)
                              and (variant is None or f.variants is None or variant in f.variants))
            self._at[key] = found
        return found


def camel(snake: str) -> str:
    """`size_mib` -> `sizeMiB`, `http_headers` -> `httpHeaders` (Butane's field naming)."""
    head, *rest = snake.split("_")
    return head + "".join("MiB" if w == "mib" else w[:1].upper() + w[1:] for w in rest)


def F(name, type_, since=(1, 0), **kw) -> Field:
    return Field(name, type_, since, **kw)


V11, V12, V13, V14, V15, V16, V17, V18 = (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8)
# boot_device and grub: fcos, and openshift, which embeds the fcos Config of its base
FCOS_SECTIONS = frozenset({"fcos", "openshift"})
OPENSHIFT_ONLY = frozenset({"openshift"})

HTTP_HEADER = Struct("HTTPHeader", [F("name", STR, always=True), F("value", STR)])
VERIFICATION = Struct("Verification", [F("hash", STR)])
# Level 1.0 file contents (base v0_1 FileContents) are the Resource without
# http_headers and local.
RESOURCE = Struct("Resource", [
    F("compression", STR),
    F("http_headers", ListOf(HTTP_HEADER), V11),
    F("source", STR),
    F("verification", VERIFICATION),
    F("inline", STR, sugar=True),
    F("local", STR, V11, sugar=True),
])
# Level 1.0 merge/replace configs and CAs (base v0_1): a source and a hash only.
CONFIG_REFERENCE = Struct("ConfigReference", [F("source", STR), F("verification", VERIFICATION)])
CA_REFERENCE = Struct("CaReference", [F("source", STR, always=True),
                                      F("verification", VERIFICATION)])

IGNITION_CONFIG = Struct("IgnitionConfig", [
    F("merge", ListOf(CONFIG_REFERENCE), until=V11),
    F("merge", ListOf(RESOURCE), V11),
    F("replace", CONFIG_REFERENCE, until=V11),
    F("replace", RESOURCE, V11),
])
PROXY = Struct("Proxy", [
    F("http_proxy", STR), F("https_proxy", STR), F("no_proxy", ListOf(STR)),
])
TLS = Struct("TLS", [
    F("certificate_authorities", ListOf(CA_REFERENCE), until=V11),
    F("certificate_authorities", ListOf(RESOURCE), V11),
])
SECURITY = Struct("Security", [F("tls", TLS)])
TIMEOUTS = Struct("Timeouts", [F("http_response_headers", INT), F("http_total", INT)])
IGNITION = Struct("Ignition", [
    F("config", IGNITION_CONFIG),
    F("proxy", PROXY, V11),
    F("security", SECURITY),
    F("timeouts", TIMEOUTS),
])

KERNEL_ARGUMENTS = Struct("KernelArguments", [
    F("should_exist", ListOf(STR)), F("should_not_exist", ListOf(STR)),
])

USER = Struct("PasswdUser", [
    F("gecos", STR),
    F("groups", ListOf(STR)),
    F("home_dir", STR),
    F("name", STR, always=True),
    F("no_create_home", BOOL),
    F("no_log_init", BOOL),
    F("no_user_group", BOOL),
    F("password_hash", STR),
    F("primary_group", STR),
    F("ssh_authorized_keys", ListOf(STR)),
    F("ssh_authorized_keys_local", ListOf(STR), V15, sugar=True),
    F("shell", STR),
    F("should_exist", BOOL, V12),
    F("system", BOOL),
    F("uid", INT),
])
GROUP = Struct("PasswdGroup", [
    F("gid", INT),
    F("name", STR, always=True),
    F("password_hash", STR),
    F("should_exist", BOOL, V12),
    F("system", BOOL),
])
PASSWD = Struct("Passwd", [F("groups", ListOf(GROUP)), F("users", ListOf(USER))])

NODE_USER = Struct("NodeUser", [F("id", INT), F("name", STR)])
NODE_GROUP = Struct("NodeGroup", [F("id", INT), F("name", STR)])


def _node(name: str, extra: list[Field]) -> Struct:
    return Struct(name, [
        F("group", NODE_GROUP),
        F("overwrite", BOOL),
        F("path", STR, always=True),
        F("user", NODE_USER),
        *extra,
    ])


FILE = _node("File", [F("append", ListOf(RESOURCE)), F("contents", RESOURCE), F("mode", INT)])
DIRECTORY = _node("Directory", [F("mode", INT)])
LINK = _node("Link", [F("hard", BOOL), F("target", STR, always_until=V14)])

PARTITION = Struct("Partition", [
    F("guid", STR),
    F("label", STR),
    F("number", INT, omit_zero=True),
    F("resize", BOOL, V12),
    F("should_exist", BOOL),
    F("size_mib", INT),
    F("start_mib", INT),
    F("type_guid", STR),
    F("wipe_partition_entry", BOOL),
])
DISK = Struct("Disk", [
    F("device", STR, always=True),
    F("partitions", ListOf(PARTITION)),
    F("wipe_table", BOOL),
])
FILESYSTEM = Struct("Filesystem", [
    F("device", STR, always=True),
    F("format", STR),
    F("label", STR),
    F("mount_options", ListOf(STR), V11),
    F("options", ListOf(STR)),
    F("path", STR),
    F("uuid", STR),
    F("wipe_filesystem", BOOL),
    F("with_mount_unit", BOOL, V11, sugar=True),
])
CEX = Struct("Cex", [F("enabled", BOOL)])
CUSTOM = Struct("Custom", [F("config", STR, always_until=V14), F("needs_network", BOOL),
                           F("pin", STR, always_until=V14)])
TANG = Struct("Tang", [
    F("advertisement", STR, V15),
    F("thumbprint", STR),
    F("url", STR, omit_zero=True),
])
CLEVIS = Struct("Clevis", [
    F("custom", CUSTOM),
    F("tang", ListOf(TANG)),
    F("threshold", INT),
    F("tpm2", BOOL),
])
LUKS = Struct("Luks", [
    F("cex", CEX, V16),
    F("clevis", CLEVIS),
    F("device", STR),
    F("discard", BOOL, V15),
    F("key_file", RESOURCE),
    F("label", STR),
    F("name", STR, always=True),
    F("open_options", ListOf(STR), V15),
    F("options", ListOf(STR)),
    F("uuid", STR),
    F("wipe_volume", BOOL),
])
RAID = Struct("Raid", [
    F("devices", ListOf(STR), always_until=V14),
    F("level", STR, always_until=V14),
    F("name", STR, always=True),
    F("options", ListOf(STR)),
    F("spares", INT),
])
TREE = Struct("Tree", [
    F("group", NODE_GROUP, V17),
    F("local", STR),
    F("path", STR),
    F("user", NODE_USER, V17),
    F("file_mode", INT, V17),
    F("dir_mode", INT, V17),
])
STORAGE = Struct("Storage", [
    F("directories", ListOf(DIRECTORY)),
    F("disks", ListOf(DISK)),
    F("files", ListOf(FILE)),
    F("filesystems", ListOf(FILESYSTEM)),
    F("links", ListOf(LINK)),
    F("luks", ListOf(LUKS), V12),
    F("raid", ListOf(RAID)),
    F("trees", ListOf(TREE), V11, sugar=True),
])

DROPIN = Struct("Dropin", [
    F("contents", STR),
    F("contents_local", STR, V15, sugar=True),
    F("name", STR, always=True),
])
UNIT = Struct("Unit", [
    F("contents", STR),
    F("contents_local", STR, V15, sugar=True),
    F("dropins", ListOf(DROPIN)),
    F("enabled", BOOL),
    F("mask", BOOL),
    F("name", STR, always=True),
])
QUADLET_DROPIN = Struct("QuadletDropin", [
    F("contents", STR),
    F("contents_local", STR),
    F("name", STR, always=True),
])
QUADLET = Struct("Quadlet", [
    F("contents", STR),
    F("contents_local", STR),
    F("dropins", ListOf(QUADLET_DROPIN)),
    F("name", STR, always=True),
    F("rootful", BOOL),
])
SYSTEMD = Struct("Systemd", [
    F("units", ListOf(UNIT)),
    F("quadlets", ListOf(QUADLET), V18, sugar=True),
])

BOOT_LUKS = Struct("BootDeviceLuks", [
    F("cex", CEX, V16),
    F("device", STR, V16),
    F("discard", BOOL, V15),
    F("tang", ListOf(TANG)),
    F("threshold", INT),
    F("tpm2", BOOL),
])
BOOT_MIRROR = Struct("BootDeviceMirror", [F("devices", ListOf(STR))])
BOOT_DEVICE = Struct("BootDevice", [
    F("layout", STR), F("luks", BOOT_LUKS), F("mirror", BOOT_MIRROR),
])
GRUB_USER = Struct("GrubUser", [F("name", STR), F("password_hash", STR)])
GRUB = Struct("Grub", [F("users", ListOf(GRUB_USER))])

# openshift's own sections (config/openshift/v4_*/schema.go): never copied into
# the Ignition config; translate.py puts them into the MachineConfig.
METADATA = Struct("Metadata", [F("name", STR), F("labels", MapOf(STR))])
OPENSHIFT = Struct("OpenShift", [
    F("kernel_arguments", ListOf(STR)),
    F("extensions", ListOf(STR)),
    F("fips", BOOL),
    F("kernel_type", STR),
])

# Only "version" exists in the Ignition section of the output, never in the input.
IGNITION_OUT = Struct("IgnitionOut", [*IGNITION.fields, F("version", STR)])

CONFIG = Struct("Config", [
    F("variant", STR, sugar=True),
    F("version", STR, sugar=True),
    F("ignition", IGNITION),
    F("kernel_arguments", KERNEL_ARGUMENTS, V14),
    F("passwd", PASSWD),
    F("storage", STORAGE),
    F("systemd", SYSTEMD),
    F("boot_device", BOOT_DEVICE, V13, sugar=True, variants=FCOS_SECTIONS),
    F("grub", GRUB, V15, sugar=True, variants=FCOS_SECTIONS),
    F("metadata", METADATA, sugar=True, variants=OPENSHIFT_ONLY),
    F("openshift", OPENSHIFT, sugar=True, variants=OPENSHIFT_ONLY),
])

# The Ignition output has the same shape minus the sugar, plus ignition.version.
OUTPUT = Struct("Output", [
    F("ignition", IGNITION_OUT),
    *[f for f in CONFIG.fields if f.name != "ignition"],
])


def zero_value(t):
    """Go's zero value of a schema type, as yaml.v3 leaves a field it had no value
    for: {} for a struct, "" / 0 / False for a scalar, None for a list."""
    if isinstance(t, Struct):
        return {}
    return {STR: "", INT: 0, BOOL: False}.get(t)


# Go's names in unmarshal errors (coreos/butane v0.29.0 base/v0_*/schema.go,
# config/fcos/v1_*/schema.go, config/openshift/v4_*/schema.go): the structs
# stoker names otherwise, the named string types of list items, and the structs
# the fcos and openshift packages define (all others are the base package's).
_GO_STRUCT = {"ConfigReference": "Resource", "CaReference": "Resource",
              "Custom": "ClevisCustom", "QuadletDropin": "Dropin"}
GO_ITEM_NAMES = {("Filesystem", "options"): "FilesystemOption",
                 ("KernelArguments", "should_exist"): "KernelArgument",
                 ("KernelArguments", "should_not_exist"): "KernelArgument",
                 ("Luks", "options"): "LuksOption", ("PasswdUser", "groups"): "Group",
                 ("PasswdUser", "ssh_authorized_keys"): "SSHAuthorizedKey",
                 ("Raid", "devices"): "Device", ("Raid", "options"): "RaidOption"}
_FCOS_STRUCTS = {"BootDevice", "BootDeviceLuks", "BootDeviceMirror", "Grub", "GrubUser"}
_OPENSHIFT_STRUCTS = {"Metadata", "OpenShift"}
_BASE_PACKAGE = {0: "v0_1", 1: "v0_2", 2: "v0_3", 3: "v0_3", 4: "v0_4", 5: "v0_5", 6: "v0_6",
                 7: "v0_7", 8: "v0_8_exp"}  # by the minor of a spec's level


def go_package(version: str) -> str:
    """A spec's Go package name: "1.4.0" -> "v1_4", "4.23.0-experimental" -> "v4_23_exp"."""
    major, minor = version.split(".")[:2]
    return f"v{major}_{minor}" + ("_exp" if version.endswith("-experimental") else "")


def go_packages(variant: str, version: str, level: tuple[int, int]) -> dict[str, str]:
    """Which Go package each struct of a spec comes from: "base", "fcos" and
    "openshift" -> the package name (openshift builds on an fcos release)."""
    minor = level[1]
    fcos = go_package(version) if variant == "fcos" else \
        f"v1_{minor}" + ("_exp" if minor == 8 else "")
    return {"base": _BASE_PACKAGE.get(minor, "base"), "fcos": fcos,
            "openshift": go_package(version) if variant == "openshift" else "v4_0"}


def go_type_name(t, packages: dict[str, str] | None = None, named: str | None = None) -> str:
    """The Go type name yaml.v3 mentions in unmarshal errors; `named` is the
    named string type of a list's items (GO_ITEM_NAMES), `packages` the spec's
    (go_packages)."""
    packages = packages or {}
    if isinstance(t, ListOf):
        return "[]" + go_type_name(t.item, packages, named)
    if isinstance(t, MapOf):
        return "map[string]" + go_type_name(t.item, packages)
    if isinstance(t, Struct):
        if t.name in packages:
            return f"{packages[t.name]}.{t.name}"
        group = "fcos" if t.name in _FCOS_STRUCTS else \
            "openshift" if t.name in _OPENSHIFT_STRUCTS else "base"
        return f"{packages.get(group, 'base')}.{_GO_STRUCT.get(t.name, t.name)}"
    if named is not None and t == STR:
        return f"{packages.get('base', 'base')}.{named}"
    return {STR: "string", INT: "int", BOOL: "bool"}[t]

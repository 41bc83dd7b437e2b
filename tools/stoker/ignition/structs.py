"""Ignition's Go struct tree for every spec version, declared once as data.

Each struct lists its fields in Go struct order (embedded Node fields first,
as encoding/json and Ignition's validators see them) with the field's Go type
and, for fields that exist only in some versions, the feature of versions.py
that brings (`since`) or retires (`until`) it. The same JSON name may appear
twice with different types in different versions (raid.level was a string
before it became *string).

Used by
  decode.py        Go encoding/json decoding: field matching, type errors, unused keys
  duplicates.py    Ignition's duplicate check (list keys, MergedKeys, IgnoreDuplicates)
  gen_schemas.py   the JSON Schemas (`schema` refines the type, `required` as in Ignition's schema.json)

Source: coreos/ignition v2.26.0 config/v3_*/types/schema.go (types), the
Key/MergedKeys/IgnoreDuplicates methods in config/v3_*/types/*.go (duplicates)
and config/v3_*/schema/ignition.json (required fields).

Go type notation: "string", "int", "bool", a struct name of STRUCTS, a named
string type of NAMED_STRINGS, "[]T" for a slice, "*T" for a pointer; "HTTPHeaders"
is the named slice type []HTTPHeader.
"""

from __future__ import annotations

from functools import lru_cache

from ..values import Value
from .versions import has

STRING = {"type": "string"}
HASH = {"type": "string", "pattern": "^(sha512-[0-9A-Fa-f]{128}|sha256-[0-9A-Fa-f]{64})$",
        "description": "sha512-<hex> or sha256-<hex>"}
HASH_SHA512 = {"type": "string", "pattern": "^sha512-[0-9A-Fa-f]{128}$", "description": "sha512-<hex>"}
GUID = {"type": "string",
        "pattern": "^(|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"}
MODE = {"type": "integer", "minimum": 0, "maximum": 0o7777}
COMPRESSION = {"type": "string", "enum": ["", "gzip"]}
FORMATS = ["", "ext4", "btrfs", "xfs", "swap", "vfat"]
RAID_LEVEL = {"type": "string", "enum": [
    "linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
    "raid5", "5", "raid6", "6", "raid10", "10"]}


class Field(Value):
    """One field of a Go struct (a value: compared and hashed by its fields).

    name            JSON name (the struct tag)
    go_type         see the module docstring
    since           feature of versions.INTRODUCED that adds the field (None: always there)
    until           feature that replaces it
    required        in the JSON Schema (Ignition's schema.json, non-omitempty fields)
    required_until  required only before this feature
    schema          JSON Schema instead of the one derived from go_type
    duplicates      slices: "check", "ignore" (IgnoreDuplicates) or a shared key group (MergedKeys)
    """

    __slots__ = ("name", "go_type", "since", "until", "required", "required_until", "schema",
                 "duplicates")

    def __init__(self, name: str, go_type: str, since: str | None = None, until: str | None = None,
                 required: bool = False, required_until: str | None = None,
                 schema: dict | None = None, duplicates: str = "check") -> None:
        self.name = name
        self.go_type = go_type
        self.since = since
        self.until = until
        self.required = required
        self.required_until = required_until
        self.schema = schema
        self.duplicates = duplicates

    def exists_in(self, version: str) -> bool:
        return ((self.since is None or has(version, self.since))
                and (self.until is None or not has(version, self.until)))

    def required_in(self, version: str) -> bool:
        return self.required or (self.required_until is not None and not has(version, self.required_until))


F = Field
NODE = [F("group", "NodeGroup"), F("overwrite", "*bool"), F("path", "string", required=True),
        F("user", "NodeUser")]

# Struct name -> fields, in the order of the generated schemas' $defs.
STRUCTS: dict[str, list[Field]] = {
    "Config": [F("ignition", "Ignition", required=True),
               F("kernelArguments", "KernelArguments", since="kernelArguments"),
               F("passwd", "Passwd"), F("storage", "Storage"), F("systemd", "Systemd")],
    "Ignition": [F("config", "IgnitionConfig"), F("proxy", "Proxy", since="proxy"),
                 F("security", "Security"), F("timeouts", "Timeouts"),
                 F("version", "string", required=True)],
    "IgnitionConfig": [F("merge", "[]ConfigReference", until="resource"),
                       F("merge", "[]Resource", since="resource"),
                       F("replace", "ConfigReference", until="resource"),
                       F("replace", "Resource", since="resource")],
    "Proxy": [F("httpProxy", "*string"), F("httpsProxy", "*string"), F("noProxy", "[]NoProxyItem")],
    "Security": [F("tls", "TLS")],
    "TLS": [F("certificateAuthorities", "[]CaReference", until="resource"),
            F("certificateAuthorities", "[]Resource", since="resource")],
    "Timeouts": [F("httpResponseHeaders", "*int"), F("httpTotal", "*int")],
    "Resource": [F("compression", "*string", schema=COMPRESSION),
                 F("httpHeaders", "HTTPHeaders", since="httpHeaders"), F("source", "*string"),
                 F("verification", "Verification")],
    "HTTPHeader": [F("name", "string", required=True), F("value", "*string")],
    "Verification": [F("hash", "*string", schema=HASH_SHA512, until="verification.sha256"),
                     F("hash", "*string", schema=HASH, since="verification.sha256")],
    "KernelArguments": [F("shouldExist", "[]KernelArgument", duplicates="kernelArgument"),
                        F("shouldNotExist", "[]KernelArgument", duplicates="kernelArgument")],
    "Passwd": [F("groups", "[]PasswdGroup"), F("users", "[]PasswdUser")],
    "PasswdUser": [F("gecos", "*string"), F("groups", "[]Group"), F("homeDir", "*string"),
                   F("name", "string", required=True), F("noCreateHome", "*bool"), F("noLogInit", "*bool"),
                   F("noUserGroup", "*bool"), F("passwordHash", "*string"), F("primaryGroup", "*string"),
                   F("sshAuthorizedKeys", "[]SSHAuthorizedKey"), F("shell", "*string"),
                   F("shouldExist", "*bool", since="passwd.shouldExist"), F("system", "*bool"),
                   F("uid", "*int")],
    "PasswdGroup": [F("gid", "*int"), F("name", "string", required=True), F("passwordHash", "*string"),
                    F("shouldExist", "*bool", since="passwd.shouldExist"), F("system", "*bool")],
    "Storage": [F("directories", "[]Directory", duplicates="node"), F("disks", "[]Disk"),
                F("files", "[]File", duplicates="node"), F("filesystems", "[]Filesystem"),
                F("links", "[]Link", duplicates="node"), F("luks", "[]Luks", since="luks"),
                F("raid", "[]Raid")],
    "NodeUser": [F("id", "*int"), F("name", "*string")],
    "NodeGroup": [F("id", "*int"), F("name", "*string")],
    "File": NODE + [F("append", "[]FileContents", until="resource", duplicates="ignore"),
                    F("append", "[]Resource", since="resource", duplicates="ignore"),
                    F("contents", "FileContents", until="resource"),
                    F("contents", "Resource", since="resource"), F("mode", "*int", schema=MODE)],
    "Directory": NODE + [F("mode", "*int", schema=MODE)],
    "Link": NODE + [F("hard", "*bool"),
                    F("target", "string", until="link.target_optional", required=True),
                    F("target", "*string", since="link.target_optional")],
    "Disk": [F("device", "string", required=True), F("partitions", "[]Partition"), F("wipeTable", "*bool")],
    "Partition": [F("guid", "*string", schema=GUID), F("label", "*string"),
                  F("number", "int", schema={"type": "integer", "minimum": 0}),
                  F("resize", "*bool", since="partition.resize"), F("shouldExist", "*bool"),
                  F("sizeMiB", "*int"), F("startMiB", "*int"), F("typeGuid", "*string", schema=GUID),
                  F("wipePartitionEntry", "*bool")],
    "Filesystem": [F("device", "string", required=True),
                   F("format", "*string", until="format.none", schema={"type": "string", "enum": FORMATS}),
                   F("format", "*string", since="format.none",
                     schema={"type": "string", "enum": FORMATS + ["none"]}),
                   F("label", "*string"),
                   F("mountOptions", "[]MountOption", since="filesystem.mountOptions", duplicates="ignore"),
                   F("options", "[]FilesystemOption", duplicates="ignore"), F("path", "*string"),
                   F("uuid", "*string"), F("wipeFilesystem", "*bool")],
    "Luks": [F("cex", "Cex", since="luks.cex"),
             F("clevis", "*Clevis", until="clevis.custom_optional"),
             F("clevis", "Clevis", since="clevis.custom_optional"),
             F("device", "*string"), F("discard", "*bool", since="luks.discard"), F("keyFile", "Resource"),
             F("label", "*string"), F("name", "string", required=True),
             F("openOptions", "[]OpenOption", since="luks.openOptions"),
             F("options", "[]LuksOption", duplicates="ignore"), F("uuid", "*string"),
             F("wipeVolume", "*bool")],
    "Cex": [F("enabled", "*bool")],
    "Clevis": [F("custom", "*Custom", until="clevis.custom_optional"),
               F("custom", "ClevisCustom", since="clevis.custom_optional"),
               F("tang", "[]Tang"), F("threshold", "*int"), F("tpm2", "*bool")],
    "ClevisCustom": [F("config", "*string"), F("needsNetwork", "*bool"), F("pin", "*string")],
    "Custom": [F("config", "string", required=True), F("needsNetwork", "*bool"),
               F("pin", "string", required=True)],
    "Tang": [F("advertisement", "*string", since="tang.advertisement"), F("thumbprint", "*string"),
             F("url", "string")],
    "Raid": [F("devices", "[]Device", required_until="raid.level_optional"),
             F("level", "string", until="raid.level_optional", required=True, schema=RAID_LEVEL),
             F("level", "*string", since="raid.level_optional", schema=RAID_LEVEL),
             F("name", "string", required=True), F("options", "[]RaidOption", duplicates="ignore"),
             F("spares", "*int")],
    "Systemd": [F("units", "[]Unit")],
    "Unit": [F("contents", "*string"), F("dropins", "[]Dropin"), F("enabled", "*bool"), F("mask", "*bool"),
             F("name", "string", required=True)],
    "Dropin": [F("contents", "*string"), F("name", "string", required=True)],
    # spec 3.0.0 only: the three kinds of resource before Resource
    "FileContents": [F("compression", "*string", schema=COMPRESSION), F("source", "*string"),
                     F("verification", "Verification")],
    "ConfigReference": [F("source", "*string", required=True), F("verification", "Verification")],
    "CaReference": [F("source", "string", required=True), F("verification", "Verification")],
}

NAMED_STRINGS = {"Device", "FilesystemOption", "Group", "KernelArgument", "LuksOption", "MountOption",
                 "NoProxyItem", "OpenOption", "RaidOption", "SSHAuthorizedKey"}
NAMED_SLICES = {"HTTPHeaders": "[]HTTPHeader"}

# How Ignition keys list entries for the duplicate check (the Key() methods):
# the named field's value ("" when unset), or a special rule.
KEYS = {"Resource": "source", "ConfigReference": "source", "CaReference": "source", "HTTPHeader": "name",
        "PasswdUser": "name", "PasswdGroup": "name", "Directory": "path", "File": "path", "Link": "path",
        "Disk": "device", "Filesystem": "device", "Luks": "name", "Raid": "name", "Tang": "url",
        "Unit": "name", "Dropin": "name", "Partition": "partition", "FileContents": "source"}


# -- the tree of one version, resolved --

class GoType(Value):
    """A resolved Go type (a value).

    kind     "struct", "slice", "string", "int" or "bool"
    display  as Go prints the type: "types.File", "[]types.File", "*int" -> "int"
    name     struct: Go name ("File"), "" for an anonymous struct
    fields   struct: tuple[TreeField, ...]
    elem     slice: element type (a GoType)
    """

    __slots__ = ("kind", "display", "name", "fields", "elem")

    def __init__(self, kind: str, display: str, name: str = "", fields: tuple = (),
                 elem: GoType | None = None) -> None:
        self.kind = kind
        self.display = display
        self.name = name
        self.fields = fields
        self.elem = elem

    def field(self, key: str) -> "TreeField | None":
        """The field a JSON object key fills, as encoding/json matches it: exact name first, then
        case-insensitively (Go's fold: ASCII letters, plus U+017F for s and U+212A for k)."""
        for field in self.fields:
            if field.name == key:
                return field
        folded = fold(key)
        for field in self.fields:
            if fold(field.name) == folded:
                return field
        return None


class TreeField(Value):
    """A field of a resolved struct: JSON name, GoType, whether Go declares it as a
    pointer, and its duplicates rule (Field.duplicates)."""

    __slots__ = ("name", "type", "pointer", "duplicates")

    def __init__(self, name: str, type: GoType, pointer: bool, duplicates: str) -> None:
        self.name = name
        self.type = type
        self.pointer = pointer
        self.duplicates = duplicates


_FOLD_TO_ASCII = {"\u017f": "s", "\u212a": "k"}


def fold(key: str) -> str:
    """Case-fold like encoding/json's foldName, for comparing with ASCII field names."""
    return "".join(ch.lower() if ch.isascii() else _FOLD_TO_ASCII.get(ch, ch) for ch in key)


@lru_cache(maxsize=None)
def struct_tree(version: str, name: str = "Config") -> GoType:
    """The resolved Go type of struct `name` in spec `version`; KeyError for an unknown struct."""
    fields = []
    for field in STRUCTS[name]:
        if field.exists_in(version):
            pointer = field.go_type.startswith("*")
            fields.append(TreeField(field.name, resolve(version, field.go_type.lstrip("*")), pointer,
                                    field.duplicates))
    return GoType("struct", f"types.{name}", name=name, fields=tuple(fields))


def resolve(version: str, go_type: str) -> GoType:
    if go_type in ("string", "int", "bool"):
        return GoType(go_type, go_type)
    if go_type in NAMED_STRINGS:
        return GoType("string", f"types.{go_type}")
    if go_type in NAMED_SLICES:
        elem = resolve(version, NAMED_SLICES[go_type][2:])
        return GoType("slice", f"types.{go_type}", elem=elem)
    if go_type.startswith("[]"):
        elem = resolve(version, go_type[2:])
        return GoType("slice", "[]" + elem.display, elem=elem)
    return struct_tree(version, go_type)

"""The JSON Schemas of Ignition specs 3.3.0-3.6.0, generated from one table.

Every object of the spec is declared once below with its fields in Ignition's
key order; a field that exists only from some version on names its feature in
versions.INTRODUCED. `write_schemas()` renders schemas/ignition-<version>.json
and a test checks the committed files equal this output, so the four files
cannot drift apart.

Run: .venv/bin/python -m stoker.ignition.gen_schemas
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .schema import SCHEMA_DIR
from .versions import SUPPORTED_VERSIONS, has

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRINGS = {"type": "array", "items": STRING}
HASH = {"type": "string", "pattern": "^(sha512-[0-9A-Fa-f]{128}|sha256-[0-9A-Fa-f]{64})$",
        "description": "sha512-<hex> or sha256-<hex>"}
GUID = {"type": "string",
        "pattern": "^(|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"}
MODE = {"type": "integer", "minimum": 0, "maximum": 0o7777}


def ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def array_of(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict
    required: bool = False
    feature: str | None = None  # key of versions.INTRODUCED, None: in every version


F = Field
NODE = [F("group", ref("nodeOwner")), F("overwrite", BOOLEAN), F("path", STRING, required=True),
        F("user", ref("nodeOwner"))]

# Objects in Ignition's struct order; "config" is the document root.
OBJECTS: dict[str, list[Field]] = {
    "config": [F("ignition", ref("ignition"), required=True), F("kernelArguments", ref("kernelArguments")),
               F("passwd", ref("passwd")), F("storage", ref("storage")), F("systemd", ref("systemd"))],
    "ignition": [F("config", ref("ignitionConfig")), F("proxy", ref("proxy")),
                 F("security", ref("security")), F("timeouts", ref("timeouts")),
                 F("version", STRING, required=True)],
    "ignitionConfig": [F("merge", array_of("resource")), F("replace", ref("resource"))],
    "proxy": [F("httpProxy", STRING), F("httpsProxy", STRING), F("noProxy", STRINGS)],
    "security": [F("tls", ref("tls"))],
    "tls": [F("certificateAuthorities", array_of("resource"))],
    "timeouts": [F("httpResponseHeaders", INTEGER), F("httpTotal", INTEGER)],
    "resource": [F("compression", {"type": "string", "enum": ["", "gzip"]}),
                 F("httpHeaders", array_of("httpHeader")), F("source", STRING),
                 F("verification", ref("verification"))],
    "httpHeader": [F("name", STRING, required=True), F("value", STRING)],
    "verification": [F("hash", HASH)],
    "kernelArguments": [F("shouldExist", STRINGS), F("shouldNotExist", STRINGS)],
    "passwd": [F("groups", array_of("group")), F("users", array_of("user"))],
    "user": [F("gecos", STRING), F("groups", STRINGS), F("homeDir", STRING),
             F("name", STRING, required=True), F("noCreateHome", BOOLEAN), F("noLogInit", BOOLEAN),
             F("noUserGroup", BOOLEAN), F("passwordHash", STRING), F("primaryGroup", STRING),
             F("sshAuthorizedKeys", STRINGS), F("shell", STRING), F("shouldExist", BOOLEAN),
             F("system", BOOLEAN), F("uid", INTEGER)],
    "group": [F("gid", INTEGER), F("name", STRING, required=True), F("passwordHash", STRING),
              F("shouldExist", BOOLEAN), F("system", BOOLEAN)],
    "storage": [F("directories", array_of("directory")), F("disks", array_of("disk")),
                F("files", array_of("file")), F("filesystems", array_of("filesystem")),
                F("links", array_of("link")), F("luks", array_of("luks")), F("raid", array_of("raid"))],
    "nodeOwner": [F("id", INTEGER), F("name", STRING)],
    "file": NODE + [F("append", array_of("resource")), F("contents", ref("resource")), F("mode", MODE)],
    "directory": NODE + [F("mode", MODE)],
    "link": NODE + [F("hard", BOOLEAN), F("target", STRING)],
    "disk": [F("device", STRING, required=True), F("partitions", array_of("partition")),
             F("wipeTable", BOOLEAN)],
    "partition": [F("guid", GUID), F("label", STRING), F("number", {"type": "integer", "minimum": 0}),
                  F("resize", BOOLEAN), F("shouldExist", BOOLEAN), F("sizeMiB", INTEGER),
                  F("startMiB", INTEGER), F("typeGuid", GUID), F("wipePartitionEntry", BOOLEAN)],
    "filesystem": [F("device", STRING, required=True),
                   F("format", {"type": "string",
                                "enum": ["", "ext4", "btrfs", "xfs", "swap", "vfat", "none"]}),
                   F("label", STRING), F("mountOptions", STRINGS), F("options", STRINGS),
                   F("path", STRING), F("uuid", STRING), F("wipeFilesystem", BOOLEAN)],
    "luks": [F("cex", ref("cex"), feature="luks.cex"), F("clevis", ref("clevis")),
             F("device", STRING), F("discard", BOOLEAN, feature="luks.discard"),
             F("keyFile", ref("resource")), F("label", STRING), F("name", STRING, required=True),
             F("openOptions", STRINGS, feature="luks.openOptions"), F("options", STRINGS),
             F("uuid", STRING), F("wipeVolume", BOOLEAN)],
    "cex": [F("enabled", BOOLEAN)],
    "clevis": [F("custom", ref("clevisCustom")), F("tang", array_of("tang")),
               F("threshold", INTEGER), F("tpm2", BOOLEAN)],
    "clevisCustom": [F("config", STRING), F("needsNetwork", BOOLEAN), F("pin", STRING)],
    "tang": [F("advertisement", STRING, feature="tang.advertisement"), F("thumbprint", STRING),
             F("url", STRING)],
    "raid": [F("devices", STRINGS), F("level", {"type": "string", "enum": [
                 "linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
                 "raid5", "5", "raid6", "6", "raid10", "10"]}),
             F("name", STRING, required=True), F("options", STRINGS), F("spares", INTEGER)],
    "systemd": [F("units", array_of("unit"))],
    "unit": [F("contents", STRING), F("dropins", array_of("dropin")), F("enabled", BOOLEAN),
             F("mask", BOOLEAN), F("name", STRING, required=True)],
    "dropin": [F("contents", STRING), F("name", STRING, required=True)],
}


def _object_schema(fields: list[Field], version: str) -> dict:
    present = [f for f in fields if f.feature is None or has(version, f.feature)]
    schema: dict = {"type": "object", "additionalProperties": False,
                    "properties": {f.name: f.schema for f in present}}
    required = [f.name for f in present if f.required]
    if required:
        schema["required"] = required
    return schema


def build_schema(version: str) -> dict:
    root = _object_schema(OBJECTS["config"], version)
    definitions = {name: _object_schema(fields, version)
                   for name, fields in OBJECTS.items() if name != "config"}
    definitions["ignition"]["properties"]["version"] = {"const": version}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://stoker.invalid/schemas/ignition-{version}.json",
        "title": f"Ignition config, spec {version}",
        "description": "Generated by stoker.ignition.gen_schemas; do not edit by hand.",
        **root,
        "$defs": definitions,
    }


def render(version: str) -> str:
    return json.dumps(build_schema(version), indent=2) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for version in SUPPORTED_VERSIONS:
        target = directory / f"ignition-{version}.json"
        target.write_text(render(version))
        written.append(target)
    return written


if __name__ == "__main__":
    write_schemas()

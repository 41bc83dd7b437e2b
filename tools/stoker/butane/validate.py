"""Butane's source validation (SPEC §5, §6, §8, §9, §11, §12; SPEC-VARIANTS
§7.2), before translation.

Checks run in the official order: the top-level rules (fcos 1.6+, or openshift
4.19+'s CEX rule, which hides the fcos ones), then a pre-order walk of the
document in struct-field order with each struct's own rules, then openshift's
metadata and openshift sections.
"""

from __future__ import annotations

import re

from ..report import ERROR, WARNING, Report
from .schema import CONFIG, ListOf, Struct
from .specs import Spec

_MOUNT_PATH = re.compile(r"^/(etc|var)(/|$)")
_LAYOUTS_15 = ("aarch64", "ppc64le", "x86_64")
_LAYOUTS_16 = ("aarch64", "ppc64le", "s390x-eckd", "s390x-virt", "s390x-zfcp", "x86_64")
_S390X = ("s390x-eckd", "s390x-zfcp", "s390x-virt")
BOOT_DISK = "/dev/disk/by-id/coreos-boot-disk"
CEX_KERNEL_ARGUMENT = "rd.luks.key=/etc/luks/cex.key"
ROLE_LABEL = "machineconfiguration.openshift.io/role"


class SourceValidator:
    def __init__(self, spec: Spec, report: Report):
        self.spec = spec
        self.version = spec.level
        self.report = report
        self.ignition_version = spec.ignition

    def run(self, value: dict) -> None:
        self._fcos_top_level(value)
        self._openshift_top_level(value)
        self._walk(value, CONFIG, ())
        self._openshift_sections(value)

    def _walk(self, value, t, path: tuple) -> None:
        if isinstance(t, Struct) and isinstance(value, dict):
            check = getattr(self, "_check_" + t.name, None)
            if check is not None:
                check(value, path)
            for f in t.fields_at(self.version, self.spec.variant):
                if f.name in value:
                    self._walk(value[f.name], f.type, path + (f.name,))
        elif isinstance(t, ListOf) and isinstance(value, list):
            for i, item in enumerate(value):
                self._walk(item, t.item, path + (i,))

    # -- fcos top level (1.6+) ---------------------------------------------------

    def _fcos_top_level(self, value: dict) -> None:
        if self.version < (1, 6) or not self.spec.fcos:
            return
        storage = value.get("storage") or {}
        for i, fs in enumerate(storage.get("filesystems") or []):
            if fs.get("with_mount_unit") and fs.get("path") \
                    and not _MOUNT_PATH.match(fs["path"]):
                self.report.error(("storage", "filesystems", i, "path"),
                                  "path must be under /etc or /var if with_mount_unit is true")
        mirror = ((value.get("boot_device") or {}).get("mirror") or {}).get("devices") or []
        for d, disk in enumerate(storage.get("disks") or []):
            if disk.get("device") == BOOT_DISK or disk.get("wipe_table") is True \
                    or disk.get("device") in mirror:
                continue
            for p, part in enumerate(disk.get("partitions") or []):
                if not part.get("number") and part.get("label") is not None:
                    self.report.warning(
                        ("storage", "disks", d, "partitions", p, "number"),
                        "partitions cannot be reused by label; number must be specified except "
                        f"on boot disk ({BOOT_DISK}) or when wipe_table is true")

    # -- openshift (config/openshift/v4_*/validate.go) ----------------------------------

    def _openshift_top_level(self, value: dict) -> None:
        """4.19+: CEX on the boot device, or on a storage.luks volume named root,
        needs the kernel argument that points at the CEX key (once per cause)."""
        rules = self.spec.openshift
        if rules is None or not rules.cex_check:
            return
        if CEX_KERNEL_ARGUMENT in ((value.get("openshift") or {}).get("kernel_arguments") or []):
            return
        boot_luks = (value.get("boot_device") or {}).get("luks") or {}
        causes = [(boot_luks.get("cex") or {}).get("enabled") is True,
                  any(luks.get("name") == "root" and (luks.get("cex") or {}).get("enabled") is True
                      for luks in (value.get("storage") or {}).get("luks") or [])]
        for _ in filter(None, causes):
            self.report.error(("openshift", "kernel_arguments"), f"'{CEX_KERNEL_ARGUMENT}' must "
                              "be set as kernel argument when CEX is enabled for the boot device")

    def _openshift_sections(self, value: dict) -> None:
        """metadata (checked even when absent) and openshift.kernel_type."""
        if self.spec.openshift is None:
            return
        metadata = value.get("metadata") or {}
        if not metadata.get("name"):
            self.report.error(("metadata", "name"), "metadata.name is required")
        if not (metadata.get("labels") or {}).get(ROLE_LABEL):
            self.report.error(("metadata", "labels"), f"{ROLE_LABEL} label is required")
        kernel_type = (value.get("openshift") or {}).get("kernel_type")
        if kernel_type is not None and kernel_type not in ("", "default", "realtime"):
            self.report.error(("openshift", "kernel_type"),
                              'must be empty, "default", or "realtime"')

    # -- per-struct rules ------------------------------------------------------------

    def _check_Resource(self, r: dict, path: tuple) -> None:
        if self.version < (1, 1):
            # base v0_1 FileContents: inline with source, blamed on inline
            if r.get("inline") is not None and r.get("source") is not None:
                self.report.error(path + ("inline",),
                                  "only one of the following can be set: inline, local, source")
            return
        set_fields = [k for k in ("local", "inline", "source") if r.get(k) is not None]
        if len(set_fields) > 1:
            self.report.error(path + (set_fields[-1],),
                              "only one of the following can be set: inline, local, source")
            return
        if len(path) >= 2 and path[:2] == ("ignition", "config") and "inline" in r:
            self._check_child_config(r["inline"], path)

    def _check_child_config(self, text: str, path: tuple) -> None:
        # As base/v0_X/util.go ValidateIgnitionConfig: the child is first decoded into the
        # target spec's types (Ignition's HandleParseErrors: a syntax or type error is placed
        # at line 1 col 1 with no path, then "config is not valid" on the inline); a version
        # that is missing or does not parse is an error at the child's own path, located in
        # the Butane document; only a readable but different version skips validation.
        from ..ignition import validate
        from ..ignition.decode import decode
        from ..ignition.gojson import (JSONSyntaxError, ObjectNode, node_kind, parse_document,
                                       to_bytes)
        from ..ignition.structs import struct_tree
        from ..ignition.versions import parse_semver

        raw = to_bytes(text)
        problem = None
        root = None
        try:
            root = parse_document(raw)
        except JSONSyntaxError as error:
            problem = str(error)
        if problem is None and not isinstance(root, ObjectNode) and node_kind(root) != "null":
            problem = f"json: cannot unmarshal {node_kind(root)} into Go value of type types.Config"
        decoded = None
        if problem is None and isinstance(root, ObjectNode):
            decoded = decode(root, struct_tree(self.ignition_version))
            if decoded.type_errors:
                problem = _embedded_field_path(decoded.type_errors[0][1])
        if problem is not None:
            self.report.add(ERROR, (), problem, 1, 1)
            self.report.error(path + ("inline",), "config is not valid")
            return
        ignition = (decoded.config if decoded else {}).get("ignition") or {}
        version = ignition.get("version") if isinstance(ignition, dict) else None
        parsed = parse_semver(version) if isinstance(version, str) else None
        if parsed is None:
            self.report.error(("ignition", "version"), "invalid config version (couldn't parse)")
            if not isinstance(root, ObjectNode):
                self.report.add(WARNING, (), "context tree does not match content tree at $. Line "
                                "and column reporting may be inconsistent. Unused keys may not "
                                "be reported", 1, 1)
            return
        if parsed != parse_semver(self.ignition_version):
            self.report.warning(path + ("version",), "skipping validation for the merge/replace "
                                "ignition config due to an unkown version")
            return
        from ..ignition import validate_document

        # The child's entries at the child's own paths, located in the Butane document
        # (nearest node present); its unused keys at line 1 col 1.
        for entry in validate(decoded.config, self.ignition_version):
            self.report.add(entry.kind, tuple(entry.path or ()), entry.message)
        for entry in validate_document(text).entries:
            if entry.message.startswith("unused key "):
                self.report.add(entry.kind, tuple(entry.path or ()), entry.message, 1, 1)

    def _check_File(self, f: dict, path: tuple) -> None:
        self._check_mode(f, path, directory=False)

    def _check_Directory(self, d: dict, path: tuple) -> None:
        self._check_mode(d, path, directory=True)

    def _check_mode(self, node: dict, path: tuple, *, directory: bool) -> None:
        mode = node.get("mode")
        if mode is not None and decimal_mode_suspect(mode, directory):
            self.report.warning(path + ("mode",), "unreasonable mode would be reasonable if "
                                "specified in octal; remember to add a leading zero")

    def _check_Unit(self, u: dict, path: tuple) -> None:
        if "contents" in u and "contents_local" in u:
            self.report.error(path + ("contents_local",),
                              "only one of the following can be set: contents, contents_local")

    _check_Dropin = _check_Unit

    def _check_Filesystem(self, fs: dict, path: tuple) -> None:
        if not fs.get("with_mount_unit"):
            return
        if self.version < (1, 4):
            # no swap units yet: path and format are both required, checked apart
            if not fs.get("path"):
                self.report.error(path + ("path",), "path is required if with_mount_unit is "
                                  "true and format is not swap")
            if not fs.get("format"):
                self.report.error(path + ("format",),
                                  "format is required if with_mount_unit is true")
            return
        if not fs.get("format"):
            self.report.error(path + ("format",), "format is required if with_mount_unit is true")
        elif fs["format"] != "swap" and not fs.get("path"):
            self.report.error(path + ("path",),
                              "path is required if with_mount_unit is true and format is not swap")

    def _check_BootDevice(self, bd: dict, path: tuple) -> None:
        v16 = self.version >= (1, 6)
        layout = bd.get("layout")
        luks = bd.get("luks") or {}
        devices = (bd.get("mirror") or {}).get("devices") or []
        if devices and layout is None:
            msg = "boot_device.layout should be specified when boot_device.mirror is specified"
            if self.version >= (1, 7):
                self.report.error(path + ("mirror",), msg)
            else:
                self.report.warning(path + ("mirror",), msg)
        layouts = _LAYOUTS_16 if v16 else _LAYOUTS_15
        if layout is not None and layout not in layouts:
            self.report.error(path + ("layout",), "layout must be one of: " + ", ".join(layouts))
        if len(devices) == 1:
            # The official tool reports this one twice.
            for _ in range(2):
                self.report.error(path + ("mirror", "devices"),
                                  "mirroring requires at least two devices")
        if v16:
            self._check_boot_s390x(layout, luks, devices, path)
            cex = bool((luks.get("cex") or {}).get("enabled"))
            if cex:
                if layout is None:
                    self.report.error(path + ("luks", "cex"),
                                      "when using cex the targeted architecture must match s390x")
                elif layout not in _S390X:
                    self.report.error(path + ("layout",),
                                      "when using cex the targeted architecture must match s390x")
                if luks.get("tang") or luks.get("tpm2"):
                    self.report.error(path + ("luks",), "cannot use cex with clevis")
        if self.version >= (1, 7) and luks.get("device"):
            has_method = any(t.get("url") for t in luks.get("tang") or []) \
                or luks.get("tpm2") or (luks.get("cex") or {}).get("enabled")
            if not has_method:
                self.report.error(path + ("luks", "luks"), "no method specified for luks")

    def _check_boot_s390x(self, layout, luks: dict, devices: list, path: tuple) -> None:
        if layout in ("s390x-eckd", "s390x-zfcp"):
            device = luks.get("device")
            if not device:
                self.report.error(path + ("layout",),
                                  "device is required for layouts: s390x-eckd, s390x-zfcp")
            elif not re.search(r"/dev/dasd[a-z]$" if layout == "s390x-eckd" else r"/dev/sd[a-z]$",
                               device):
                self.report.error(path + ("layout",), "device name must start with /dev/dasd on "
                                  "s390x-eckd layout or /dev/sd on s390x-zfcp layout")
        if layout in _S390X and devices:
            self.report.error(path + ("layout",),
                              "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt")

    def _check_Quadlet(self, q: dict, path: tuple) -> None:
        from .quadlets import QUADLET_EXTENSIONS, is_instance  # here: rare (start-up)

        name = q.get("name") or ""
        if not name.endswith(QUADLET_EXTENSIONS):
            self.report.error(path + ("name",), "unsupported file extension for quadlet: must "
                              "be one of .container, .volume, .network, .kube, .image, .build, "
                              ".pod, or .artifact")
            return
        if is_instance(name):
            for field in ("contents", "contents_local"):
                if field in q:
                    self.report.error(path + (field,), "template instances cannot have "
                                      "contents or contents_local")
            return
        self._check_QuadletDropin(q, path)

    def _check_QuadletDropin(self, d: dict, path: tuple) -> None:
        if "contents" in d and "contents_local" in d:
            self.report.error(path + ("contents_local",),
                              "only one of the following can be set: contents, contents_local")

    def _check_GrubUser(self, u: dict, path: tuple) -> None:
        if not u.get("name"):
            self.report.error(path + ("name",), 'field "name" is required')
        if not u.get("password_hash"):
            self.report.error(path + ("password_hash",), 'field "password_hash" is required')


# -- decimal-looking modes (SPEC §12) ---------------------------------------------------

def _typical(mode: int, directory: bool) -> bool:
    if mode == 0:
        return True
    classes = [(mode >> shift) & 7 for shift in (6, 3, 0)]  # user, group, other
    for bit in (4, 2, 1):
        held = [bool(c & bit) for c in classes]
        # a less specific class never holds a bit the more specific one lacks
        if (held[2] and not held[1]) or (held[1] and not held[0]):
            return False
    for i, c in enumerate(classes):
        if c & 1 and any((o & 4) and not (o & 1) for o in classes[i + 1:]):
            return False
        if (c & 2 or c & 1) and not c & 4:
            return False
    if not any(c & 4 for c in classes):
        return False
    special = mode & 0o7000
    anyone_x = any(c & 1 for c in classes)
    if directory:
        if not anyone_x or special & 0o4000:
            return False
        if special & 0o3000 and not any(c & 2 for c in classes):
            return False
    else:
        if special & 0o6000 and (not anyone_x or classes[2] & 2):
            return False
        if special & 0o1000:
            return False
    return True


def decimal_mode_suspect(mode: int, directory: bool) -> bool:
    digits = str(mode)
    if mode < 0 or mode > 7777 or any(ch not in "01234567" for ch in digits):
        return False
    if _typical(mode, directory):
        return False
    return _typical(int(digits, 8), directory)


# Ignition's File, Directory and Link embed Node and a <Kind>Embedded1 struct; the Go
# that built the official v0.29.0 names those in a type error's field path
# ("File.storage.files.FileEmbedded1.mode").
_EMBEDDED = {"files": ("FileEmbedded1", ("append", "contents", "mode")),
             "directories": ("DirectoryEmbedded1", ("mode",)),
             "links": ("LinkEmbedded1", ("hard", "target"))}
_NODE_FIELDS = ("path", "overwrite", "user", "group")


def _embedded_field_path(message: str) -> str:
    match = re.match(r"(json: cannot unmarshal \S+ into Go struct field \w+\.)(\S+)( of type .*)",
                     message, re.S)
    if not match:
        return message
    parts = match.group(2).split(".")
    if len(parts) >= 3 and parts[0] == "storage" and parts[1] in _EMBEDDED:
        embedded, fields = _EMBEDDED[parts[1]]
        if parts[2] in _NODE_FIELDS:
            parts.insert(2, "Node")
        elif parts[2] in fields:
            parts.insert(2, embedded)
    return match.group(1) + ".".join(parts) + match.group(3)

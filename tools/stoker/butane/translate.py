"""Butane value tree -> Ignition config, with a table mapping every output path to
the source path it came from (so Ignition's findings point at the user's YAML).

The order is the official tool's (SPEC §0.6): base sections, then mount units,
then trees, then quadlets (level 1.8), then the fcos sugar (boot_device,
partition checks, grub), which fcos and openshift have and the other variants
do not. openshift's own steps follow in openshift.py.
"""

from __future__ import annotations

import re

from ..report import Report
from . import sugar
from .merge import PARENT, merge_with_transcript
from .resources import ERR_NO_FILES_DIR, LocalFileError, data_url, pct_data_url, read_local
from .schema import CONFIG, OUTPUT, ListOf, Struct
from .specs import Spec

Table = dict  # output path -> source path


class Translator:
    def __init__(self, spec: Spec, files_dir: str | None, report: Report, *,
                 map_output_warnings: bool = True):
        self.spec = spec
        self.version = spec.level
        self.files_dir = files_dir
        self.report = report
        self.table: Table = {}
        # Whether the fcos partition warnings (reported at output paths) are
        # mapped back through the table. An openshift MachineConfig's table is
        # keyed below spec.config, so there they are not (config/util/util.go
        # TranslateReportPaths falls back to the snake_cased path).
        self.map_output_warnings = map_output_warnings
        self.auto_compression = spec.auto_compression

    # -- generic copying -------------------------------------------------------

    def copy(self, value, t, src: tuple, out: tuple):
        self.table[out] = src
        if isinstance(t, Struct):
            res = {}
            for f in t.fields_at(self.version, self.spec.variant):
                if f.sugar or f.name not in value:
                    continue
                res[f.ign] = self.copy(value[f.name], f.type, src + (f.name,), out + (f.ign,))
            hook = getattr(self, "_hook_" + t.name, None)
            if hook is not None:
                hook(value, res, src, out)
            return res
        if isinstance(t, ListOf):
            return [self.copy(v, t.item, src + (i,), out + (i,)) for i, v in enumerate(value)]
        return value

    def read(self, local: str, src: tuple) -> bytes | None:
        try:
            return read_local(self.files_dir, local)
        except LocalFileError as exc:
            self.report.error(src, str(exc))
            return None

    def _hook_Resource(self, value: dict, res: dict, src: tuple, out: tuple) -> None:
        if "inline" in value:
            data, field = value["inline"].encode("utf-8", "surrogateescape"), "inline"
        elif "local" in value:
            field = "local"
            data = self.read(value["local"], src + ("local",))
            if data is None:
                return
        else:
            return
        if self.version < (1, 1):
            # base v0_1: always percent-encoded, and no compression field
            res["source"] = pct_data_url(data)
            self.table[out + ("source",)] = src + (field,)
            return
        user_compression = value.get("compression") or ""
        res["source"], compression = data_url(
            data, compress=not user_compression and self.auto_compression)
        self.table[out + ("source",)] = src + (field,)
        if not user_compression:
            res["compression"] = compression
            self.table[out + ("compression",)] = src + (field,)

    def _contents_local(self, value: dict, res: dict, src: tuple, out: tuple) -> None:
        local = value.get("contents_local")
        if not local:
            return
        data = self.read(local, src + ("contents_local",))
        if data is not None:
            res["contents"] = data.decode("utf-8", errors="surrogateescape")
            self.table[out + ("contents",)] = src + ("contents_local",)

    _hook_Unit = _contents_local
    _hook_Dropin = _contents_local

    def _hook_PasswdUser(self, value: dict, res: dict, src: tuple, out: tuple) -> None:
        locals_ = value.get("ssh_authorized_keys_local")
        if not locals_:
            return
        lsrc = src + ("ssh_authorized_keys_local",)
        if self.files_dir is None:
            self.report.error(lsrc, ERR_NO_FILES_DIR)
            return
        keys = res.setdefault("sshAuthorizedKeys", [])
        self.table.setdefault(out + ("sshAuthorizedKeys",), lsrc)
        for i, local in enumerate(locals_):
            data = self.read(local, lsrc + (i,))
            if data is None:
                continue
            for line in re.split(r"\r?\n", data.decode("utf-8", errors="surrogateescape")):
                if line:
                    self.table[out + ("sshAuthorizedKeys", len(keys))] = lsrc + (i,)
                    keys.append(line)

    def map_new(self, out: tuple, value, src: tuple, *, overwrite: bool = True) -> None:
        """Map a generated output node and everything below it to one source node."""
        if overwrite or out not in self.table:
            self.table[out] = src
        if isinstance(value, dict):
            for k, v in value.items():
                self.map_new(out + (k,), v, src, overwrite=overwrite)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.map_new(out + (i,), v, src, overwrite=overwrite)

    def source_path(self, out: tuple, *, mapped: bool = True, prefix: tuple = ()) -> tuple:
        """The YAML path an output path came from; unmapped paths are snake_cased
        output paths after `prefix` (openshift: ("spec", "config")), as the
        official tool reports them."""
        if mapped and out in self.table:
            return self.table[out]
        return prefix + snake_path(out)

    def output_warning(self, out: tuple, message: str, *, mapped: bool = True) -> None:
        self.report.warning(self.source_path(out, mapped=mapped and self.map_output_warnings),
                            message)

    def map_new_entry(self, kind: str, index: int, node: dict, src: tuple) -> None:
        """Map a generated storage.<kind> entry to its source; the first entry of
        a list also maps the list itself (base v0_*/translate.go: `if i == 0`)."""
        self.map_new(("storage", kind, index), node, src)
        if index == 0:
            self.table[("storage", kind)] = src

    # -- merging generated parts as the parent of the user's config -------------

    def merge_parent(self, parent: dict, parent_table: Table, child: dict) -> dict:
        result, transcript = merge_with_transcript(parent, child)
        table: Table = {}
        for rpath, (side, opath) in transcript.items():
            source_table = parent_table if side == PARENT else self.table
            if opath in source_table:
                table[rpath] = source_table[opath]
        self.table = table
        return result

    # -- the whole pipeline ------------------------------------------------------

    def translate(self, value: dict) -> dict:
        errors_before = sum(e.kind == "error" for e in self.report.entries)
        out = self.copy(value, CONFIG, (), ())
        out.setdefault("ignition", {})["version"] = self.spec.ignition
        self.table[("ignition", "version")] = ("version",)
        mount_units, mount_table = sugar.mount_units(value, self.version)
        if mount_units:
            out = self.merge_parent(mount_units, mount_table, out)
        # trees and quadlets are loaded only for the configs that have them (start-up)
        if (value.get("storage") or {}).get("trees"):
            from . import trees

            trees.process(self, value, out)
        if (value.get("systemd") or {}).get("quadlets"):
            from . import quadlets

            quadlets.process(self, value, out)
        if not self.spec.fcos_sugar:
            return out
        # a fatal error of the base translation ends it before the fcos parts
        # (config/fcos/v1_*/translate.go: boot_device, the partition checks and grub)
        if sum(e.kind == "error" for e in self.report.entries) > errors_before:
            return out
        boot, boot_table = sugar.boot_device(value, self.version)
        if boot:
            out = self.merge_parent(boot, boot_table, out)
        sugar.check_partitions(self, out)
        grub, grub_table = sugar.grub(value, compress=self.auto_compression)
        if grub:
            out = self.merge_parent(grub, grub_table, out)
        if self.version >= (1, 5):
            # From 1.5 the grub step always merges (config/fcos/v1_5+ translate.go), and
            # Ignition's merge transcript gives a zero-valued non-pointer leaf ("" path,
            # unit name, disk device) no mapping, nor a container with only such leaves.
            live: set = set()
            _live_paths(out, OUTPUT, (), True, self.spec.level, live)
            self.table = {k: v for k, v in self.table.items()
                          if k in live or not _present(out, k)}
        return out


def _live_paths(value, t, path: tuple, pointer: bool, level, live: set) -> bool:
    """Add to `live` each path of `value` holding a leaf Go's merge transcribes (a set
    pointer, or a non-zero value), or a container holding one; return whether `path` is."""
    found = False
    if isinstance(value, dict):
        for k, v in value.items():
            f = t.by_ign.get(k) if isinstance(t, Struct) else None
            sub = None if f is None else f.type
            ptr = f is None or not (f.always_at(level) or f.omit_zero)
            found |= _live_paths(v, sub, path + (k,), ptr, level, live)
    elif isinstance(value, list):
        item = t.item if isinstance(t, ListOf) else None
        for i, v in enumerate(value):
            found |= _live_paths(v, item, path + (i,), False, level, live)
    else:
        found = value is not None and (pointer or value not in ("", 0, False))
    if found:
        live.add(path)
    return found


def _present(value, path: tuple) -> bool:
    for k in path:
        if isinstance(value, dict) and k in value:
            value = value[k]
        elif isinstance(value, list) and isinstance(k, int) and 0 <= k < len(value):
            value = value[k]
        else:
            return False
    return True


def snake_path(out: tuple) -> tuple:
    """An output path with each key in Butane's snake_case (`sizeMiB` -> `size_mib`)."""
    t = OUTPUT
    res = []
    for k in out:
        if isinstance(k, int):
            res.append(k)
            continue
        f = t.by_ign.get(k) if isinstance(t, Struct) else None
        if f is None:
            res.append(k)
            t = None
            continue
        res.append(f.name)
        t = f.type.item if isinstance(f.type, ListOf) else f.type
    return tuple(res)

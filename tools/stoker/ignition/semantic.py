"""Ignition's semantic validation of a config, walked in Ignition's order.

Ignition validates a typed struct tree: each node's own checks run first, then
its fields in struct order (the JSON key order of SPEC §2). The reports come out
in that order, so this module walks the parsed JSON the same way. The input may
not match the schema; anything of the wrong type is skipped here, because
check_schema (or, for a whole document, Go's decoding in decode.py) reports it.

Every rule that is not in every spec version asks versions.has(); the sources
are coreos/ignition v2.26.0 config/v3_*/types/*.go.
"""

from __future__ import annotations

import re
from collections import Counter

from ..report import ERROR, WARNING, Entry
from . import messages as msg
from .goformat import clean_path, extension, go_quote, join_path
from .unitfile import UnitContentError, deserialize
from .urls import URLError, parse_go_url, validate_tang_url, validate_url
from .versions import has, parse_semver

Path = tuple

# Go's regexp "$" is the end of the text; Python's would also match before a final newline
# partition GUIDs are rare: compiled on first use (re's cache), not at import (start-up)
_GUID = r"(|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\Z"
_INSTANCE_UNIT = re.compile(r"(.+?)@(.+?)\.service\Z")  # systemd.go checkInstanceUnit
_UNIT_EXTENSIONS = {".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target",
                    ".path", ".timer", ".snapshot", ".slice", ".scope"}
_FILESYSTEM_FORMATS = {"ext4", "btrfs", "xfs", "swap", "vfat"}  # and "none" from 3.3.0
_LABEL_LIMITS = {"ext4": 16, "btrfs": 256, "xfs": 12, "swap": 15, "vfat": 11}
_CLEVIS_PINS = {"tpm2", "tang", "sss"}
_RAID_LEVELS_WITHOUT_SPARES = {"linear", "raid0", "0", "stripe"}
_RAID_LEVELS = _RAID_LEVELS_WITHOUT_SPARES | {"raid1", "1", "mirror", "raid4", "4", "raid5", "5",
                                             "raid6", "6", "raid10", "10"}


def _obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _empty(value: object) -> bool:
    """Ignition's NilOrEmpty for an optional string."""
    return value is None or value == ""


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _byte_length(text: str) -> int:
    """len() of the Go string: UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def path_error(path: object) -> str | None:
    """Ignition's validatePath: absolute and already clean."""
    if not isinstance(path, str) or path == "":
        return msg.NO_PATH
    if not path.startswith("/"):
        return msg.PATH_RELATIVE
    if clean_path(path) != path:
        return msg.DIRTY_PATH
    return None


class SemanticValidator:
    """Ignition's Validate() methods for spec `version` (one of versions.SUPPORTED_VERSIONS).

    config(config) returns the entries, errors and warnings, in Ignition's order.
    """

    def __init__(self, version: str) -> None:
        self.version = version
        self.entries: list[Entry] = []

    def has(self, feature: str) -> bool:
        return has(self.version, feature)

    # -- reporting --
    def error(self, path: Path, message: str | None) -> None:
        if message:
            self.entries.append(Entry(ERROR, path, message))

    def warn(self, path: Path, message: str | None) -> None:
        if message:
            self.entries.append(Entry(WARNING, path, message))

    # -- the walk --
    def config(self, config: dict) -> list[Entry]:
        self._systemd_path_conflicts(config)
        self._ignition(_obj(config.get("ignition")), ("ignition",))
        # kernelArguments and passwd have no checks beyond duplicates
        self._storage(_obj(config.get("storage")), ("storage",))
        units = [_obj(unit) for unit in _items(_obj(config.get("systemd")).get("units"))]
        self._template_units(units, ("systemd", "units"))
        for i, unit in enumerate(units):
            self._unit(unit, ("systemd", "units", i))
        return self.entries

    def _systemd_path_conflicts(self, config: dict) -> None:
        written: set[str] = set()
        for unit in _items(_obj(config.get("systemd")).get("units")):
            unit = _obj(unit)
            name = _text(unit.get("name")) or ""
            if not _empty(unit.get("contents")):
                written.add("/etc/systemd/system/" + name)
            for dropin in _items(unit.get("dropins")):
                dropin = _obj(dropin)
                if not _empty(dropin.get("contents")):
                    written.add(f"/etc/systemd/system/{name}.d/{_text(dropin.get('name')) or ''}")
        storage = _obj(config.get("storage"))
        for kind in ("files", "directories", "links"):
            for i, node in enumerate(_items(storage.get(kind))):
                if _text(_obj(node).get("path")) in written:
                    self.error(("storage", kind, i, "path"), msg.PATH_CONFLICTS_SYSTEMD)

    # -- ignition section --
    def _ignition(self, ignition: dict, at: Path) -> None:
        self._version(ignition.get("version"), at + ("version",))
        config = _obj(ignition.get("config"))
        # 3.0.0 has ConfigReference and CaReference; 3.1.0 made them Resources that need a source
        unified = self.has("resource")
        if unified:
            for i, merge in enumerate(_items(config.get("merge"))):
                self.error(at + ("config", "merge", i), self._required_source(_obj(merge)))
        for i, merge in enumerate(_items(config.get("merge"))):
            self._resource(_obj(merge), at + ("config", "merge", i), "config")
        self._resource(_obj(config.get("replace")), at + ("config", "replace"), "config")
        if self.has("proxy"):
            self._proxy(_obj(ignition.get("proxy")), at + ("proxy",))
        authorities = _items(_obj(_obj(ignition.get("security")).get("tls")).get("certificateAuthorities"))
        at_cas = at + ("security", "tls", "certificateAuthorities")
        if unified:
            for i, ca in enumerate(authorities):
                self.error(at_cas + (i,), self._required_source(_obj(ca)))
        for i, ca in enumerate(authorities):
            self._resource(_obj(ca), at_cas + (i,), "ca")

    def _version(self, version: object, at: Path) -> None:
        parsed = parse_semver(version) if isinstance(version, str) else None
        if parsed is None:
            self.error(at, msg.INVALID_VERSION)
        elif parsed != parse_semver(self.version):
            self.error(at, msg.UNKNOWN_VERSION)

    def _proxy(self, proxy: dict, at: Path) -> None:
        for key, plain_http_ok in (("httpProxy", True), ("httpsProxy", False)):
            value = _text(proxy.get(key))
            if value is None:
                continue
            try:
                scheme = parse_go_url(value).scheme
            except URLError as error:
                self.error(at + (key,), str(error))
                continue
            if scheme not in ("http", "https"):
                self.error(at + (key,), msg.INVALID_PROXY)
            elif scheme == "http" and not plain_http_ok:
                self.warn(at + (key,), msg.INSECURE_PROXY)

    # -- resources --
    def _url_error(self, source: str) -> str | None:
        try:
            validate_url(source, self.version)
        except URLError as error:
            return str(error)
        return None

    def _required_source(self, resource: dict) -> str | None:
        source = _text(resource.get("source"))
        if _empty(source):
            return msg.SOURCE_REQUIRED
        return self._url_error(source)

    def _resource(self, resource: dict, at: Path, kind: str = "file") -> None:
        """A Resource (3.1.0+), or in 3.0.0 one of FileContents ("file"), ConfigReference ("config")
        and CaReference ("ca"), whose checks differ (v3_0/types/file.go, ignition.go, ca.go)."""
        if not self.has("resource") and kind != "file":
            source = _text(resource.get("source"))
            if kind == "ca":
                # CaReference.Source is a plain string checked with validateURL: empty is a bad scheme
                self.error(at + ("source",), self._url_error(source) if source else msg.INVALID_SCHEME)
            elif source is not None:
                self.error(at + ("source",), self._url_error(source))
            self._hash(resource, at)
            return
        source = _text(resource.get("source"))
        compression = resource.get("compression")
        if compression is not None and compression not in ("", "gzip"):
            self.error(at + ("compression",), msg.COMPRESSION_INVALID)
        hash_ = _text(_obj(resource.get("verification")).get("hash"))
        if hash_ is not None and source is None:
            self.error(at + ("verification", "hash"), msg.VERIFICATION_AND_NIL_SOURCE)
        if source is not None:
            self.error(at + ("source",), self._url_error(source))
        headers = _items(resource.get("httpHeaders")) if self.has("httpHeaders") else []
        if headers:
            self.error(at + ("httpHeaders",), self._header_scheme_error(source))
        for i, header in enumerate(headers):
            header = _obj(header)
            if not header.get("name"):
                self.error(at + ("httpHeaders", i, "name"), msg.EMPTY_HTTP_HEADER_NAME)
            if header.get("value") == "":
                # an absent value is fine, an empty one is not
                self.error(at + ("httpHeaders", i, "value"), msg.INVALID_HTTP_HEADER)
        self._hash(resource, at)

    def _hash(self, resource: dict, at: Path) -> None:
        hash_ = _text(_obj(resource.get("verification")).get("hash"))
        if hash_ is not None:
            self.error(at + ("verification", "hash"), _hash_error(hash_, self.has("verification.sha256")))

    @staticmethod
    def _header_scheme_error(source: str | None) -> str | None:
        if _empty(source):
            return msg.INVALID_URL
        try:
            scheme = parse_go_url(source).scheme
        except URLError:
            return msg.INVALID_URL
        return None if scheme in ("http", "https") else msg.UNSUPPORTED_SCHEME_FOR_HTTP_HEADERS

    # -- storage --
    def _storage(self, storage: dict, at: Path) -> None:
        directories = [_obj(d) for d in _items(storage.get("directories"))]
        files = [_obj(f) for f in _items(storage.get("files"))]
        links = [_obj(link) for link in _items(storage.get("links"))]
        self._storage_cross_checks(storage, directories, files, links, at)
        for i, directory in enumerate(directories):
            self._node(directory, at + ("directories", i), with_mode=True)
        for i, disk in enumerate(_items(storage.get("disks"))):
            self._disk(_obj(disk), at + ("disks", i))
        for i, file in enumerate(files):
            self._file(file, at + ("files", i))
        for i, filesystem in enumerate(_items(storage.get("filesystems"))):
            self._filesystem(_obj(filesystem), at + ("filesystems", i))
        for i, link in enumerate(links):
            self._node(link, at + ("links", i), with_mode=False)
        for i, luks in enumerate(_items(storage.get("luks")) if self.has("luks") else []):
            self._luks(_obj(luks), at + ("luks", i))
        for i, raid in enumerate(_items(storage.get("raid"))):
            self._raid(_obj(raid), at + ("raid", i))

    def _storage_cross_checks(self, storage: dict, directories: list[dict], files: list[dict],
                              links: list[dict], at: Path) -> None:
        link_paths = Counter(_text(link.get("path")) or "" for link in links)

        def under_link(node: dict) -> list[str]:
            """Every link path P (as often as it is listed) with path.startswith(P + "/"):
            the prefixes of `path` that end just before one of its slashes.
            Linear in the path's length, whatever the number of links."""
            path = _text(node.get("path")) or ""
            found, at = [], path.find("/")
            while at != -1:
                found += [path[:at]] * link_paths.get(path[:at], 0)
                at = path.find("/", at + 1)
            return found

        for i, directory in enumerate(directories):
            for _ in under_link(directory):
                self.error(at + ("directories", i), msg.DIRECTORY_USED_SYMLINK)
        for i, file in enumerate(files):
            for _ in under_link(file):
                self.error(at + ("files", i), msg.FILE_USED_SYMLINK)
        directory_paths = [_text(d.get("path")) or "" for d in directories]
        for i, link in enumerate(links):
            for _ in under_link(link):
                self.error(at + ("links", i), msg.LINK_USED_SYMLINK)
            target = _text(link.get("target"))
            if self.has("link.target_optional"):
                if _empty(target):
                    self.error(at + ("links", i, "target"), msg.LINK_TARGET_REQUIRED)
                    continue
            else:
                target = target or ""  # a plain string before 3.3.0, with no rule of its own
            if link.get("hard") is not True:
                continue
            resolved = clean_path(target)
            if not resolved.startswith("/"):
                # Ignition joins onto the link's own path, not its directory
                resolved = join_path(_text(link.get("path")) or "", target)
            for directory_path in directory_paths:
                if resolved == directory_path:
                    self.error(at + ("links", i), msg.HARD_LINK_TO_DIRECTORY)
            for owner in ("user", "group"):
                for key in ("id", "name"):
                    if _obj(link.get(owner)).get(key) is not None:
                        self.warn(at + ("links", i, owner, key), msg.HARD_LINK_SPECIFIES_OWNER)
        disks = {_text(_obj(d).get("device")): _obj(d) for d in _items(storage.get("disks"))}
        for i, filesystem in enumerate(_items(storage.get("filesystems"))):
            filesystem = _obj(filesystem)
            disk = disks.get(_text(filesystem.get("device")) or "")
            if disk is None:
                continue
            if _items(disk.get("partitions")):
                self.warn(at + ("filesystems", i, "device"), msg.PARTITIONS_OVERWRITTEN)
            elif filesystem.get("wipeFilesystem") is not True and disk.get("wipeTable") is True:
                self.warn(at + ("filesystems", i, "device"), msg.FILESYSTEM_IMPLICIT_WIPE)

    def _node(self, node: dict, at: Path, with_mode: bool) -> None:
        self.error(at + ("path",), path_error(node.get("path")))
        if with_mode:
            self._mode(node.get("mode"), at + ("mode",))
        for owner in ("group", "user"):
            owner_obj = _obj(node.get(owner))
            if owner_obj.get("id") is not None and not _empty(owner_obj.get("name")):
                self.error(at + (owner,), msg.BOTH_ID_AND_NAME_SET)

    def _mode(self, mode: object, at: Path) -> None:
        mode = _number(mode)
        if mode is None:
            return
        if mode < 0 or mode > 0o7777:
            self.error(at, msg.FILE_ILLEGAL_MODE)
        if mode & 0o7000 and not self.has("mode.special_bits"):
            self.warn(at, msg.MODE_SPECIAL_BITS)

    def _file(self, file: dict, at: Path) -> None:
        self.error(at + ("path",), path_error(file.get("path")))
        self._mode(file.get("mode"), at + ("mode",))
        contents = _obj(file.get("contents"))
        if file.get("overwrite") is True and contents.get("source") is None:
            self.error(at + ("overwrite",), msg.OVERWRITE_AND_NIL_SOURCE)
        for owner in ("group", "user"):
            owner_obj = _obj(file.get(owner))
            if owner_obj.get("id") is not None and not _empty(owner_obj.get("name")):
                self.error(at + (owner,), msg.BOTH_ID_AND_NAME_SET)
        for i, appended in enumerate(_items(file.get("append"))):
            self._resource(_obj(appended), at + ("append", i), "file")
        self._resource(contents, at + ("contents",), "file")

    def _disk(self, disk: dict, at: Path) -> None:
        partitions = [_obj(p) for p in _items(disk.get("partitions"))]
        self._disk_checks(_text(disk.get("device")) or "", partitions, at)
        # the partitions are walked even when the disk's own checks stopped early
        for i, partition in enumerate(partitions):
            self._partition(partition, at + ("partitions", i))

    def _disk_checks(self, device: str, partitions: list[dict], at: Path) -> None:
        if device == "":
            self.error(at + ("device",), msg.DISK_DEVICE_REQUIRED)
            return
        self.error(at + ("device",), path_error(device))
        collision = _number_collision(partitions)
        if collision is not None:
            self.error(at + ("partitions", collision), msg.PARTITION_NUMBERS_COLLIDE)
        overlap = _overlap(partitions)
        if overlap is not None:
            self.error(at + ("partitions", overlap), msg.PARTITIONS_OVERLAP)
        if (any(not _number(p.get("number")) for p in partitions)
                and any(p.get("shouldExist") is False for p in partitions)):
            self.error(at + ("partitions",), msg.ZEROES_WITH_SHOULD_NOT_EXIST)
        labels: set[str] = set()
        for i, partition in enumerate(partitions):
            label = _text(partition.get("label"))
            if label is None:
                continue
            if label in labels:
                self.error(at + ("partitions", i), msg.DUPLICATE_LABELS)
                break
            labels.add(label)

    def _partition(self, partition: dict, at: Path) -> None:
        label = _text(partition.get("label"))
        if partition.get("shouldExist") is False and (
                label is not None or not _empty(partition.get("typeGuid"))
                or not _empty(partition.get("guid")) or partition.get("startMiB") is not None
                or partition.get("sizeMiB") is not None):
            self.error(at, msg.SHOULD_NOT_EXIST_WITH_OTHERS)
        if not _number(partition.get("number")) and label is None:
            self.error(at, msg.NEED_LABEL_OR_NUMBER)
        if label is not None:
            if _byte_length(label) > 36:
                self.error(at + ("label",), msg.PARTITION_LABEL_TOO_LONG)
            elif ":" in label:
                self.error(at + ("label",), msg.LABEL_CONTAINS_COLON)
        for key in ("guid", "typeGuid"):
            value = _text(partition.get(key))
            if value is not None and not re.match(_GUID, value):
                self.error(at + (key,), msg.GUID_FORMAT)

    def _filesystem(self, filesystem: dict, at: Path) -> None:
        if not _empty(filesystem.get("path")):
            self.error(at + ("path",), path_error(filesystem.get("path")))
        self.error(at + ("device",), path_error(filesystem.get("device")))
        format_ = _text(filesystem.get("format"))
        mount_options = _items(filesystem.get("mountOptions")) if self.has("filesystem.mountOptions") else []
        if _empty(format_):
            if (not _empty(filesystem.get("path")) or not _empty(filesystem.get("label"))
                    or not _empty(filesystem.get("uuid")) or filesystem.get("wipeFilesystem") is True
                    or mount_options or _items(filesystem.get("options"))):
                self.error(at + ("format",), msg.FORMAT_NIL_WITH_OTHERS)
        elif format_ not in _FILESYSTEM_FORMATS and not (format_ == "none" and self.has("format.none")):
            self.error(at + ("format",), msg.FILESYSTEM_INVALID_FORMAT)
        label = _text(filesystem.get("label"))
        if not _empty(label):
            if _empty(format_):
                self.error(at + ("label",), msg.LABEL_NEEDS_FORMAT)
            elif format_ in _LABEL_LIMITS and _byte_length(label) > _LABEL_LIMITS[format_]:
                self.error(at + ("label",), msg.FILESYSTEM_LABEL_TOO_LONG.format(
                    limit=_LABEL_LIMITS[format_], format=format_))

    def _luks(self, luks: dict, at: Path) -> None:
        if "/" in (_text(luks.get("name")) or ""):
            self.error(at + ("name",), msg.LUKS_NAME_CONTAINS_SLASH)
        label = _text(luks.get("label"))
        if not _empty(label) and _byte_length(label) > 47:
            self.error(at + ("label",), msg.LUKS_LABEL_TOO_LONG)
        device = _text(luks.get("device"))
        if _empty(device):
            self.error(at + ("device",), msg.DISK_DEVICE_REQUIRED)
        else:
            self.error(at + ("device",), path_error(device))
        clevis = _obj(luks.get("clevis"))
        custom = _obj(clevis.get("custom"))
        tangs = _items(clevis.get("tang"))
        threshold = _number(clevis.get("threshold"))
        others = tangs or clevis.get("tpm2") is True or threshold
        if self.has("clevis.custom_optional"):
            custom_used = not _empty(custom.get("pin"))
        else:
            custom_used = isinstance(clevis.get("custom"), dict)  # 3.2.0: a *Custom that is set
        if custom_used and others:
            self.error(at + ("clevis",), msg.CLEVIS_CUSTOM_WITH_OTHERS)
        key_source = _text(_obj(luks.get("keyFile")).get("source"))
        if key_source is not None and self._url_error(key_source):
            # Ignition reports this one at "keys", a path that does not exist
            self.error(at + ("keys",), msg.INVALID_LUKS_KEY_FILE)
        if self.has("luks.cex") and _obj(luks.get("cex")).get("enabled") is True:
            custom_present = not _empty(custom.get("pin"))  # Ignition's Clevis.IsPresent
            if tangs or clevis.get("tpm2") is True or threshold or custom_present:
                self.error(at + ("cex",), msg.CEX_WITH_CLEVIS)
            if not _empty(key_source):
                self.error(at + ("cex",), msg.CEX_WITH_KEY_FILE)
        self._clevis(clevis, at + ("clevis",))
        self._resource(_obj(luks.get("keyFile")), at + ("keyFile",))

    def _clevis(self, clevis: dict, at: Path) -> None:
        custom = _obj(clevis.get("custom"))
        pin = _text(custom.get("pin"))
        if not self.has("clevis.custom_optional"):
            # 3.2.0 Custom.Validate: pin and config are plain strings, and an empty pin is just unknown
            config = _text(custom.get("config")) or ""
            if (pin or config) and (pin or "") not in _CLEVIS_PINS:
                self.error(at + ("custom", "pin"), msg.UNKNOWN_CLEVIS_PIN)
            if pin and not config:
                self.error(at + ("custom", "config"), msg.CLEVIS_CONFIG_REQUIRED)
        elif not _empty(pin) or not _empty(custom.get("config")) or custom.get("needsNetwork") is True:
            if _empty(pin):
                self.error(at + ("custom", "pin"), msg.CLEVIS_PIN_REQUIRED)
            elif pin not in _CLEVIS_PINS and not self.has("clevis.custom_pin_any"):
                self.error(at + ("custom", "pin"), msg.UNKNOWN_CLEVIS_PIN)
            if _empty(custom.get("config")):
                self.error(at + ("custom", "config"), msg.CLEVIS_CONFIG_REQUIRED)
        for i, tang in enumerate(_items(clevis.get("tang"))):
            tang = _obj(tang)
            try:
                validate_tang_url(_text(tang.get("url")) or "")
            except URLError as error:
                self.error(at + ("tang", i, "url"), str(error))
            if _empty(tang.get("thumbprint")):
                self.error(at + ("tang", i, "thumbprint"), msg.TANG_THUMBPRINT_REQUIRED)
            advertisement = _text(tang.get("advertisement"))
            if self.has("tang.advertisement") and not _empty(advertisement):
                from .gojson import is_valid_json  # here: off `stoker butane`'s start-up path

                if not is_valid_json(advertisement):
                    self.error(at + ("tang", i, "advertisement"), msg.INVALID_TANG_ADVERTISEMENT)

    def _raid(self, raid: dict, at: Path) -> None:
        level = _text(raid.get("level"))
        if _empty(level) and self.has("raid.level_optional"):
            self.error(at + ("level",), msg.RAID_LEVEL_REQUIRED)
        elif level not in _RAID_LEVELS:  # before 3.3.0 an empty level is just unrecognized
            self.error(at + ("level",), msg.UNRECOGNIZED_RAID_LEVEL)
        elif level in _RAID_LEVELS_WITHOUT_SPARES and _number(raid.get("spares")):
            self.error(at + ("level",), msg.SPARES_UNSUPPORTED_FOR_LEVEL)
        devices = _items(raid.get("devices"))
        if not devices:
            self.error(at + ("devices",), msg.RAID_DEVICES_REQUIRED)
        for i, device in enumerate(devices):
            self.error(at + ("devices", i), path_error(device))

    # -- systemd --
    def _template_units(self, units: list[dict], at: Path) -> None:
        """Systemd.Validate: an enabled instance of a template whose contents lack [Install]."""
        by_name = {_text(unit.get("name")) or "": unit for unit in units}
        for i, unit in enumerate(units):
            name = _text(unit.get("name")) or ""
            match = _INSTANCE_UNIT.match(name)
            if not match or unit.get("enabled") is not True:
                continue
            template = match[1] + "@.service"
            contents = _text(by_name.get(template, {}).get("contents"))
            if _empty(contents):
                continue
            try:
                options = deserialize(contents)
            except UnitContentError:
                continue  # reported on the template itself
            if not any(option.section == "Install" for option in options):
                self.warn(at + (i, "contents"), msg.template_without_install(template, name, go_quote))

    def _unit(self, unit: dict, at: Path) -> None:
        name = _text(unit.get("name")) or ""
        if extension(name) not in _UNIT_EXTENSIONS:
            self.error(at + ("name",), msg.INVALID_SYSTEMD_EXT)
        contents = _text(unit.get("contents"))
        options = self._unit_contents(contents, at + ("contents",))
        if unit.get("enabled") is True and not _empty(contents) and options is not None:
            if not any(option.section == "Install" for option in options):
                self.warn(at + ("contents",), msg.no_install_section(name, go_quote))
        for i, dropin in enumerate(_items(unit.get("dropins"))):
            dropin = _obj(dropin)
            self._unit_contents(_text(dropin.get("contents")), at + ("dropins", i, "contents"))
            if extension(_text(dropin.get("name")) or "") != ".conf":
                self.error(at + ("dropins", i, "name"), msg.INVALID_SYSTEMD_DROPIN_EXT)

    def _unit_contents(self, contents: str | None, at: Path):
        if contents is None:
            return []
        try:
            return deserialize(contents)
        except UnitContentError as error:
            self.error(at, msg.INVALID_UNIT_CONTENT.format(detail=error))
            return None


def _hash_error(value: str, sha256: bool = True) -> str | None:
    function, dash, digest = value.partition("-")
    if not dash:
        return msg.HASH_MALFORMED
    sizes = {"sha512": 128, "sha256": 64} if sha256 else {"sha512": 128}  # hex digits
    if function not in sizes:
        return msg.HASH_UNRECOGNIZED
    return None if len(digest) == sizes[function] else msg.HASH_WRONG_SIZE


def _number_collision(partitions: list[dict]) -> int | None:
    first_seen: dict[int, int] = {}
    for i, partition in enumerate(partitions):
        number = _number(partition.get("number"))
        if number:
            if number in first_seen:
                return i
            first_seen[number] = i
    return None


def _overlap(partitions: list[dict]) -> int | None:
    """disk.go partitionsOverlap: the index of a partition that the first overlapping one hits."""
    def extent(partition: dict) -> tuple[int, int] | None:
        start, size = _number(partition.get("startMiB")), _number(partition.get("sizeMiB"))
        if not start or size is None:
            return None  # placed by sgdisk: cannot be checked without the disk geometry
        # inclusive ends; a size of 0 ("fill available") ends at its start
        return start, start if size == 0 else start + size - 1

    for i, partition in enumerate(partitions):
        mine = extent(partition)
        if mine is None:
            continue
        for j, other in enumerate(partitions):
            theirs = extent(other)
            if j == i or theirs is None:
                continue
            (start, end), (other_start, other_end) = mine, theirs
            if (other_start <= start <= other_end or other_start <= end <= other_end
                    or start < other_start and end > other_end):
                return j
    return None

"""One case per Ignition message: the smallest config that gives it, and nothing else."""

import pytest

from stoker.ignition import SUPPORTED_VERSIONS, validate
from stoker.report import ERROR, WARNING, format_path

SPECIAL = "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"
GUID_MSG = 'doesn\'t match the form "01234567-89AB-CDEF-EDCB-A98765432101"'
HEX128 = "a" * 128


def config(version="3.4.0", **sections):
    return {"ignition": {"version": version, **sections.pop("ignition", {})}, **sections}


def files(*entries):
    return {"storage": {"files": list(entries)}}


def contents(**resource):
    return files({"path": "/f", "contents": resource})


def units(*entries):
    return {"systemd": {"units": list(entries)}}


def luks(*entries):
    return {"storage": {"luks": list(entries)}}


GOOD_LUKS = {"name": "data", "device": "/dev/vdb"}

# (id, version, sections, expected entries as (kind, "$.path", message))
CASES = [
    # duplicates
    ("duplicate-file", "3.4.0", files({"path": "/a"}, {"path": "/a"}),
     [(ERROR, "$.storage.files.1", "duplicate entry defined")]),
    ("duplicate-across-node-kinds", "3.4.0",
     {"storage": {"directories": [{"path": "/a"}], "files": [{"path": "/a"}], "links": [{"path": "/a", "target": "/b"}]}},
     [(ERROR, "$.storage.files.0", "duplicate entry defined"), (ERROR, "$.storage.links.0", "duplicate entry defined")]),
    ("duplicate-kernel-argument-across-lists", "3.4.0",
     {"kernelArguments": {"shouldExist": ["a"], "shouldNotExist": ["a"]}},
     [(ERROR, "$.kernelArguments.shouldNotExist.0", "duplicate entry defined")]),
    ("duplicate-partition-by-number", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"number": 1}, {"number": 1, "label": "x"}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.1", "duplicate entry defined"),
      (ERROR, "$.storage.disks.0.partitions.1", "partition numbers collide")]),
    ("duplicate-ssh-key-and-unit-and-dropin", "3.4.0",
     {"passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["k", "k"]}]},
      "systemd": {"units": [{"name": "a.service", "dropins": [{"name": "x.conf"}, {"name": "x.conf"}]},
                            {"name": "a.service"}]}},
     [(ERROR, "$.passwd.users.0.sshAuthorizedKeys.1", "duplicate entry defined"),
      (ERROR, "$.systemd.units.1", "duplicate entry defined"),
      (ERROR, "$.systemd.units.0.dropins.1", "duplicate entry defined")]),
    ("duplicates-allowed-in-options-and-append", "3.4.0",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "ext4", "options": ["-a", "-a"]}],
                  "files": [{"path": "/f", "append": [{"source": "data:,a"}, {"source": "data:,a"}]}]}},
     []),
    # version
    ("invalid-version", "3.4.0", {"ignition": {"version": "three"}},
     [(ERROR, "$.ignition.version", "invalid config version (couldn't parse)")]),
    ("unsupported-version", "3.4.0", {"ignition": {"version": "3.3.0"}},
     [(ERROR, "$.ignition.version", "unsupported config version")]),
    # paths
    ("path-not-specified", "3.4.0", {"storage": {"directories": [{"path": ""}]}},
     [(ERROR, "$.storage.directories.0.path", "path not specified")]),
    ("path-not-absolute", "3.4.0", files({"path": "etc/x"}),
     [(ERROR, "$.storage.files.0.path", "path not absolute")]),
    ("path-not-clean", "3.4.0", files({"path": "/etc/"}),
     [(ERROR, "$.storage.files.0.path", "path is not fully simplified")]),
    ("path-conflicts-with-unit", "3.4.0",
     {**files({"path": "/etc/systemd/system/a.service"}),
      **units({"name": "a.service", "contents": "[Install]\nWantedBy=x\n"})},
     [(ERROR, "$.storage.files.0.path", "path conflicts with systemd unit or dropin")]),
    ("path-conflicts-with-dropin", "3.4.0",
     {"storage": {"directories": [{"path": "/etc/systemd/system/a.service.d/b.conf"}]},
      **units({"name": "a.service", "dropins": [{"name": "b.conf", "contents": "[Unit]\n"}]})},
     [(ERROR, "$.storage.directories.0.path", "path conflicts with systemd unit or dropin")]),
    # nodes
    ("file-under-link", "3.4.0",
     {"storage": {"files": [{"path": "/l/f"}], "links": [{"path": "/l", "target": "/t"}]}},
     [(ERROR, "$.storage.files.0", "file path includes link in config")]),
    ("directory-under-link", "3.4.0",
     {"storage": {"directories": [{"path": "/l/d"}], "links": [{"path": "/l", "target": "/t"}]}},
     [(ERROR, "$.storage.directories.0", "directory path includes link in config")]),
    ("link-under-link", "3.4.0",
     {"storage": {"links": [{"path": "/l", "target": "/t"}, {"path": "/l/m", "target": "/t"}]}},
     [(ERROR, "$.storage.links.1", "link path includes link in config")]),
    ("link-target-required", "3.4.0", {"storage": {"links": [{"path": "/l"}]}},
     [(ERROR, "$.storage.links.0.target", "link target is required")]),
    ("hard-link-to-directory", "3.4.0",
     {"storage": {"directories": [{"path": "/d"}], "links": [{"path": "/l", "target": "/d", "hard": True}]}},
     [(ERROR, "$.storage.links.0", "hard link target is a directory")]),
    ("hard-link-owner-ignored", "3.4.0",
     {"storage": {"links": [{"path": "/l", "target": "/t", "hard": True, "group": {"id": 5}}]}},
     [(WARNING, "$.storage.links.0.group.id", "user/group ignored for hard link")]),
    ("overwrite-without-source", "3.4.0", files({"path": "/f", "overwrite": True}),
     [(ERROR, "$.storage.files.0.overwrite", "overwrite must be false if source is unspecified")]),
    ("illegal-mode", "3.6.0", files({"path": "/f", "mode": 0o10000}),
     [(ERROR, "$.storage.files.0.mode", "illegal file mode")]),
    ("special-bits-before-3.6", "3.5.0", {"storage": {"directories": [{"path": "/d", "mode": 0o1777}]}},
     [(WARNING, "$.storage.directories.0.mode", SPECIAL)]),
    ("special-bits-fine-in-3.6", "3.6.0", {"storage": {"directories": [{"path": "/d", "mode": 0o1777}]}}, []),
    ("owner-id-and-name", "3.4.0", files({"path": "/f", "user": {"id": 0, "name": "root"}}),
     [(ERROR, "$.storage.files.0.user", "cannot set both id and name")]),
    # resources
    ("invalid-compression", "3.4.0", contents(source="data:,x", compression="xz"),
     [(ERROR, "$.storage.files.0.contents.compression", "invalid compression method")]),
    ("verification-without-source", "3.4.0", contents(verification={"hash": "sha512-" + HEX128}),
     [(ERROR, "$.storage.files.0.contents.verification.hash",
       "source must be specified if verification is specified")]),
    ("hash-wrong-size", "3.4.0", contents(source="https://e/x", verification={"hash": "sha256-abc"}),
     [(ERROR, "$.storage.files.0.contents.verification.hash", "incorrect size for hash sum")]),
    ("hash-malformed", "3.4.0", contents(source="https://e/x", verification={"hash": "sha512"}),
     [(ERROR, "$.storage.files.0.contents.verification.hash", "malformed hash specifier")]),
    ("hash-unrecognized", "3.4.0", contents(source="https://e/x", verification={"hash": "md5-abc"}),
     [(ERROR, "$.storage.files.0.contents.verification.hash", "unrecognized hash function")]),
    ("invalid-url-scheme", "3.4.0", contents(source="ftp://e/x"),
     [(ERROR, "$.storage.files.0.contents.source", "invalid url scheme")]),
    ("unparsable-url", "3.4.0", contents(source="https://e/%zz"),
     [(ERROR, "$.storage.files.0.contents.source", "unable to parse url")]),
    ("s3-empty-version-id", "3.4.0", contents(source="s3://b/k?versionId="),
     [(ERROR, "$.storage.files.0.contents.source", "invalid S3 object VersionId")]),
    ("arn-not-in-3.3", "3.3.0", contents(source="arn:aws:s3:::bucket/key"),
     [(ERROR, "$.storage.files.0.contents.source", "invalid url scheme")]),
    ("arn-in-3.4", "3.4.0", contents(source="arn:aws:s3:::bucket/key"), []),
    ("arn-malformed", "3.4.0", contents(source="arn:aws:s3:::bucket"),
     [(ERROR, "$.storage.files.0.contents.source", "invalid S3 ARN format")]),
    ("data-url-malformed", "3.4.0", contents(source="data:text/plain"),
     [(ERROR, "$.storage.files.0.contents.source", "incomplete media type")]),
    ("data-url-bad-base64", "3.4.0", contents(source="data:;base64,YQ"),
     [(ERROR, "$.storage.files.0.contents.source", "illegal base64 data at input byte 0")]),
    ("headers-need-http", "3.4.0", contents(source="tftp://e/x", httpHeaders=[{"name": "a", "value": "b"}]),
     [(ERROR, "$.storage.files.0.contents.httpHeaders", "cannot use HTTP headers with this source scheme")]),
    ("header-name-empty", "3.4.0", contents(source="https://e/x", httpHeaders=[{"name": "", "value": "b"}]),
     [(ERROR, "$.storage.files.0.contents.httpHeaders.0.name", "HTTP header name can't be empty")]),
    ("header-value-empty", "3.4.0", contents(source="https://e/x", httpHeaders=[{"name": "a", "value": ""}]),
     [(ERROR, "$.storage.files.0.contents.httpHeaders.0.value", "unable to parse HTTP header")]),
    ("header-value-absent", "3.4.0", contents(source="https://e/x", httpHeaders=[{"name": "a"}]), []),
    ("merge-source-required", "3.4.0", {"ignition": {"config": {"merge": [{"compression": ""}]}}},
     [(ERROR, "$.ignition.config.merge.0", "source is required")]),
    ("ca-source-required", "3.4.0", {"ignition": {"security": {"tls": {"certificateAuthorities": [{}]}}}},
     [(ERROR, "$.ignition.security.tls.certificateAuthorities.0", "source is required")]),
    ("proxy-must-be-http", "3.4.0", {"ignition": {"proxy": {"httpProxy": "socks5://p:1080"}}},
     [(ERROR, "$.ignition.proxy.httpProxy", "proxies must be http(s)")]),
    ("insecure-https-proxy", "3.4.0", {"ignition": {"proxy": {"httpsProxy": "http://p:3128"}}},
     [(WARNING, "$.ignition.proxy.httpsProxy", "insecure plaintext HTTP proxy specified for HTTPS resources")]),
    # disks and partitions
    ("disk-device-required", "3.4.0", {"storage": {"disks": [{"device": ""}]}},
     [(ERROR, "$.storage.disks.0.device", "disk device is required")]),
    ("partitions-overlap", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [
         {"number": 1, "startMiB": 10, "sizeMiB": 10}, {"number": 2, "startMiB": 15, "sizeMiB": 10}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.1", "partitions overlap")]),
    ("partitions-overlap-zero-size-counts-at-its-start", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [
         {"number": 1, "startMiB": 20, "sizeMiB": 0}, {"number": 2, "startMiB": 20, "sizeMiB": 0},
         {"number": 3, "startMiB": 40}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.1", "partitions overlap")]),
    ("partitions-without-size-are-not-checked", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [
         {"number": 1, "startMiB": 20, "sizeMiB": 10}, {"number": 2, "startMiB": 20}]}]}}, []),
    ("partitions-checked-even-without-disk-device", "3.4.0",
     {"storage": {"disks": [{"device": "", "partitions": [{"number": 1, "guid": "x"}]}]}},
     [(ERROR, "$.storage.disks.0.device", "disk device is required"),
      (ERROR, "$.storage.disks.0.partitions.0.guid", GUID_MSG)]),
    ("zeroes-with-should-not-exist", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"label": "a"}, {"number": 2, "shouldExist": False}]}]}},
     [(ERROR, "$.storage.disks.0.partitions",
       "shouldExist is false for a partition and other partition(s) has start or size 0")]),
    ("duplicate-partition-label", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"number": 1, "label": "a"}, {"number": 2, "label": "a"}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.1", "cannot use the same partition label twice")]),
    ("should-not-exist-with-others", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"number": 1, "shouldExist": False, "sizeMiB": 5}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0", "shouldExist specified false with other options also specified")]),
    ("need-label-or-number", "3.4.0", {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"sizeMiB": 5}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0", "a partition number >= 1 or a label must be specified")]),
    ("partition-label-too-long", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"label": "x" * 37}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0.label", "partition labels may not exceed 36 characters")]),
    ("partition-label-colon", "3.4.0", {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"label": "a:b"}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0.label", "partition label will be truncated to text before the colon")]),
    ("partition-guid-format", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vda", "partitions": [{"number": 1, "typeGuid": "linux"}]}]}},
     [(ERROR, "$.storage.disks.0.partitions.0.typeGuid", GUID_MSG)]),
    # filesystems
    ("filesystem-path-empty-is-unset", "3.4.0",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "ext4", "path": ""}]}}, []),
    ("filesystem-path-relative", "3.4.0",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "ext4", "path": "var"}]}},
     [(ERROR, "$.storage.filesystems.0.path", "path not absolute")]),
    ("filesystem-invalid-format", "3.4.0", {"storage": {"filesystems": [{"device": "/dev/vdb", "format": "ntfs"}]}},
     [(ERROR, "$.storage.filesystems.0.format", "invalid filesystem format")]),
    ("filesystem-format-empty-with-others", "3.4.0",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "wipeFilesystem": True}]}},
     [(ERROR, "$.storage.filesystems.0.format",
       "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified")]),
    ("filesystem-label-needs-format", "3.4.0", {"storage": {"filesystems": [{"device": "/dev/vdb", "label": "x"}]}},
     [(ERROR, "$.storage.filesystems.0.format",
       "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified"),
      (ERROR, "$.storage.filesystems.0.label", "filesystem must specify format if label is specified")]),
] + [
    (f"label-too-long-{fmt}", "3.4.0",
     {"storage": {"filesystems": [{"device": "/dev/vdb", "format": fmt, "label": "x" * (limit + 1)}]}},
     [(ERROR, "$.storage.filesystems.0.label",
       f"filesystem labels cannot be longer than {limit} characters when using {fmt}")])
    for fmt, limit in (("ext4", 16), ("xfs", 12), ("vfat", 11), ("swap", 15), ("btrfs", 256))
] + [
    ("filesystem-overwrites-partitions", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vdb", "partitions": [{"number": 1}]}],
                  "filesystems": [{"device": "/dev/vdb", "format": "ext4"}]}},
     [(WARNING, "$.storage.filesystems.0.device", "filesystem overwrites partitioned device")]),
    ("filesystem-implicit-wipe", "3.4.0",
     {"storage": {"disks": [{"device": "/dev/vdb", "wipeTable": True}],
                  "filesystems": [{"device": "/dev/vdb", "format": "ext4"}]}},
     [(WARNING, "$.storage.filesystems.0.device",
       "device matches disk with wipeTable enabled; filesystem will be wiped")]),
    # luks
    ("luks-name-slash", "3.4.0", luks({**GOOD_LUKS, "name": "a/b"}),
     [(ERROR, "$.storage.luks.0.name", "device names cannot contain slashes")]),
    ("luks-label-too-long", "3.4.0", luks({**GOOD_LUKS, "label": "x" * 48}),
     [(ERROR, "$.storage.luks.0.label", "luks device labels cannot be longer than 47 characters")]),
    ("luks-device-required", "3.4.0", luks({"name": "data"}),
     [(ERROR, "$.storage.luks.0.device", "disk device is required")]),
    ("luks-key-file", "3.4.0", luks({**GOOD_LUKS, "keyFile": {"source": "ftp://x"}}),
     [(ERROR, "$.storage.luks.0.keys", "invalid key-file source"),
      (ERROR, "$.storage.luks.0.keyFile.source", "invalid url scheme")]),
    ("clevis-custom-with-others", "3.4.0",
     luks({**GOOD_LUKS, "clevis": {"tpm2": True, "custom": {"pin": "tpm2", "config": "{}"}}}),
     [(ERROR, "$.storage.luks.0.clevis", "cannot use custom clevis config with tpm2, tang, or threshold")]),
    ("clevis-pin-required", "3.4.0", luks({**GOOD_LUKS, "clevis": {"custom": {"config": "{}"}}}),
     [(ERROR, "$.storage.luks.0.clevis.custom.pin", "missing required custom clevis pin")]),
    ("clevis-config-required", "3.4.0", luks({**GOOD_LUKS, "clevis": {"custom": {"pin": "sss"}}}),
     [(ERROR, "$.storage.luks.0.clevis.custom.config", "missing required custom clevis config")]),
    ("clevis-unknown-pin-before-3.6", "3.5.0", luks({**GOOD_LUKS, "clevis": {"custom": {"pin": "yubikey", "config": "{}"}}}),
     [(ERROR, "$.storage.luks.0.clevis.custom.pin", "unsupported clevis pin")]),
    ("clevis-any-pin-in-3.6", "3.6.0", luks({**GOOD_LUKS, "clevis": {"custom": {"pin": "yubikey", "config": "{}"}}}), []),
    ("tang-thumbprint-and-url", "3.4.0", luks({**GOOD_LUKS, "clevis": {"tang": [{"url": "tftp://t"}]}}),
     [(ERROR, "$.storage.luks.0.clevis.tang.0.url", "invalid url scheme"),
      (ERROR, "$.storage.luks.0.clevis.tang.0.thumbprint", "thumbprint is required")]),
    ("tang-advertisement-json", "3.4.0",
     luks({**GOOD_LUKS, "clevis": {"tang": [{"url": "http://t", "thumbprint": "x", "advertisement": "{nope"}]}}),
     [(ERROR, "$.storage.luks.0.clevis.tang.0.advertisement", "advertisement is not valid JSON")]),
    ("cex-with-clevis", "3.5.0", luks({**GOOD_LUKS, "cex": {"enabled": True}, "clevis": {"tpm2": True}}),
     [(ERROR, "$.storage.luks.0.cex", "cannot use cex with clevis")]),
    ("cex-with-key-file", "3.5.0", luks({**GOOD_LUKS, "cex": {"enabled": True}, "keyFile": {"source": "data:,k"}}),
     [(ERROR, "$.storage.luks.0.cex", "cannot use key file with cex")]),
    # raid
    ("raid-level-required", "3.4.0", {"storage": {"raid": [{"name": "md", "devices": ["/dev/a"]}]}},
     [(ERROR, "$.storage.raid.0.level", "raid level is required")]),
    ("raid-level-unknown", "3.4.0", {"storage": {"raid": [{"name": "md", "level": "raid7", "devices": ["/dev/a"]}]}},
     [(ERROR, "$.storage.raid.0.level", "unrecognized raid level")]),
    ("raid-spares", "3.4.0", {"storage": {"raid": [{"name": "md", "level": "raid0", "spares": 1, "devices": ["/dev/a"]}]}},
     [(ERROR, "$.storage.raid.0.level", "spares unsupported for linear and raid0 arrays")]),
    ("raid-devices-required", "3.4.0", {"storage": {"raid": [{"name": "md", "level": "raid1"}]}},
     [(ERROR, "$.storage.raid.0.devices", "raid devices required")]),
    ("raid-device-path", "3.4.0", {"storage": {"raid": [{"name": "md", "level": "raid1", "devices": ["vda"]}]}},
     [(ERROR, "$.storage.raid.0.devices.0", "path not absolute")]),
    # systemd
    ("unit-extension", "3.4.0", units({"name": "a.unit"}),
     [(ERROR, "$.systemd.units.0.name", "invalid systemd unit extension")]),
    ("dropin-extension", "3.4.0", units({"name": "a.service", "dropins": [{"name": "x.cfg"}]}),
     [(ERROR, "$.systemd.units.0.dropins.0.name", "invalid systemd drop-in extension")]),
    ("enabled-without-install", "3.4.0", units({"name": "a.service", "enabled": True, "contents": "[Service]\nType=oneshot\n"}),
     [(WARNING, "$.systemd.units.0.contents",
       'unit "a.service" is enabled, but has no install section so enable does nothing')]),
    ("enabled-with-install", "3.4.0",
     units({"name": "a.service", "enabled": True, "contents": "[Service]\nType=oneshot\n[Install]\nWantedBy=x\n"}), []),
    ("unit-content-section", "3.4.0", units({"name": "a.service", "contents": "[Service\n"}),
     [(ERROR, "$.systemd.units.0.contents", "invalid unit content: unable to find end of section")]),
    ("unit-content-option-name", "3.4.0", units({"name": "a.service", "contents": "[Service]\nType\n"}),
     [(ERROR, "$.systemd.units.0.contents",
       "invalid unit content: unexpected newline encountered while parsing option name")]),
    ("unit-content-garbage", "3.4.0", units({"name": "a.service", "contents": "[Service] x\n"}),
     [(ERROR, "$.systemd.units.0.contents", 'invalid unit content: found garbage after section name : "x"')]),
    ("unit-content-line-too-long", "3.4.0",
     units({"name": "a.service", "contents": "[Service]\nA=" + "x" * 3000 + "\n"}),
     [(ERROR, "$.systemd.units.0.contents", "invalid unit content: line too long (max 2048 bytes)")]),
]


@pytest.mark.parametrize("version,sections,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_message(version, sections, expected):
    found = validate(config(version, **sections), version)
    assert [(e.kind, format_path(e.path), e.message) for e in found] == expected
    assert all(e.line is None and e.column is None for e in found)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_minimal_config_is_clean(version):
    assert validate(config(version), version) == []


@pytest.mark.parametrize("version", ["2.3.0", "3.8.0", "3.7.0", "3.6.0-experimental"])
def test_unknown_version_is_refused(version):
    with pytest.raises(ValueError):
        validate(config(version), version)

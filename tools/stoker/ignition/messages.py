"""Ignition's validation messages, word for word.

These texts are what users of the official tools see and search for, so they
are kept exactly as Ignition prints them (config/shared/errors), typos included.
"""

DUPLICATE = "duplicate entry defined"

# Reading a document (config/shared/errors, config/validate/validate.go)
EMPTY = "not a config (empty)"
UNUSED_KEY = "unused key {key}"
NOT_AN_OBJECT = ("context tree does not match content tree at {path}. "
                 "Line and column reporting may be inconsistent. Unused keys may not be reported")

INVALID_VERSION = "invalid config version (couldn't parse)"
UNKNOWN_VERSION = "unsupported config version"

# Paths
NO_PATH = "path not specified"
PATH_RELATIVE = "path not absolute"
DIRTY_PATH = "path is not fully simplified"
PATH_CONFLICTS_SYSTEMD = "path conflicts with systemd unit or dropin"

# Nodes
FILE_USED_SYMLINK = "file path includes link in config"
DIRECTORY_USED_SYMLINK = "directory path includes link in config"
LINK_USED_SYMLINK = "link path includes link in config"
LINK_TARGET_REQUIRED = "link target is required"
HARD_LINK_TO_DIRECTORY = "hard link target is a directory"
HARD_LINK_SPECIFIES_OWNER = "user/group ignored for hard link"
OVERWRITE_AND_NIL_SOURCE = "overwrite must be false if source is unspecified"
FILE_ILLEGAL_MODE = "illegal file mode"
MODE_SPECIAL_BITS = "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"
BOTH_ID_AND_NAME_SET = "cannot set both id and name"

# Resources and URLs
COMPRESSION_INVALID = "invalid compression method"
VERIFICATION_AND_NIL_SOURCE = "source must be specified if verification is specified"
SOURCE_REQUIRED = "source is required"
INVALID_SCHEME = "invalid url scheme"
INVALID_URL = "unable to parse url"
EMPTY_HTTP_HEADER_NAME = "HTTP header name can't be empty"
INVALID_HTTP_HEADER = "unable to parse HTTP header"
UNSUPPORTED_SCHEME_FOR_HTTP_HEADERS = "cannot use HTTP headers with this source scheme"
HASH_MALFORMED = "malformed hash specifier"
HASH_WRONG_SIZE = "incorrect size for hash sum"
HASH_UNRECOGNIZED = "unrecognized hash function"
INVALID_S3_ARN = "invalid S3 ARN format"
INVALID_S3_OBJECT_VERSION_ID = "invalid S3 object VersionId"
INVALID_PROXY = "proxies must be http(s)"
INSECURE_PROXY = "insecure plaintext HTTP proxy specified for HTTPS resources"

# Disks and partitions
DISK_DEVICE_REQUIRED = "disk device is required"
PARTITION_NUMBERS_COLLIDE = "partition numbers collide"
PARTITIONS_OVERLAP = "partitions overlap"
ZEROES_WITH_SHOULD_NOT_EXIST = "shouldExist is false for a partition and other partition(s) has start or size 0"
DUPLICATE_LABELS = "cannot use the same partition label twice"
SHOULD_NOT_EXIST_WITH_OTHERS = "shouldExist specified false with other options also specified"
NEED_LABEL_OR_NUMBER = "a partition number >= 1 or a label must be specified"
PARTITION_LABEL_TOO_LONG = "partition labels may not exceed 36 characters"
LABEL_CONTAINS_COLON = "partition label will be truncated to text before the colon"
GUID_FORMAT = 'doesn\'t match the form "01234567-89AB-CDEF-EDCB-A98765432101"'

# Filesystems
FILESYSTEM_INVALID_FORMAT = "invalid filesystem format"
LABEL_NEEDS_FORMAT = "filesystem must specify format if label is specified"
FORMAT_NIL_WITH_OTHERS = (
    "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified")
FILESYSTEM_LABEL_TOO_LONG = "filesystem labels cannot be longer than {limit} characters when using {format}"
PARTITIONS_OVERWRITTEN = "filesystem overwrites partitioned device"
FILESYSTEM_IMPLICIT_WIPE = "device matches disk with wipeTable enabled; filesystem will be wiped"

# LUKS
LUKS_LABEL_TOO_LONG = "luks device labels cannot be longer than 47 characters"
LUKS_NAME_CONTAINS_SLASH = "device names cannot contain slashes"
INVALID_LUKS_KEY_FILE = "invalid key-file source"
CLEVIS_PIN_REQUIRED = "missing required custom clevis pin"
UNKNOWN_CLEVIS_PIN = "unsupported clevis pin"
CLEVIS_CONFIG_REQUIRED = "missing required custom clevis config"
CLEVIS_CUSTOM_WITH_OTHERS = "cannot use custom clevis config with tpm2, tang, or threshold"
TANG_THUMBPRINT_REQUIRED = "thumbprint is required"
INVALID_TANG_ADVERTISEMENT = "advertisement is not valid JSON"
CEX_WITH_CLEVIS = "cannot use cex with clevis"
CEX_WITH_KEY_FILE = "cannot use key file with cex"

# RAID
RAID_LEVEL_REQUIRED = "raid level is required"
SPARES_UNSUPPORTED_FOR_LEVEL = "spares unsupported for linear and raid0 arrays"
UNRECOGNIZED_RAID_LEVEL = "unrecognized raid level"
RAID_DEVICES_REQUIRED = "raid devices required"

# systemd
INVALID_SYSTEMD_EXT = "invalid systemd unit extension"
INVALID_SYSTEMD_DROPIN_EXT = "invalid systemd drop-in extension"
INVALID_UNIT_CONTENT = "invalid unit content: {detail}"


def no_install_section(unit_name: str, quote) -> str:
    return f"unit {quote(unit_name)} is enabled, but has no install section so enable does nothing"


def template_without_install(template: str, instance: str, quote) -> str:
    return f"template unit {quote(template)} for {quote(instance)} doesn't have Install section"

"""Which keys Podman's Quadlet accepts, in which section of which unit type, since which release.

    key_problem(".container", "Container", "Image")             -> None
    key_problem(".container", "Container", "Imag")              -> "unknown key 'Imag' in [Container];
                                                                    did you mean 'Image'?"
    key_problem(".container", "Container", "HealthCmd", "4.4")  -> "key 'HealthCmd' in [Container] needs
                                                                    Podman 4.5, the target has 4.4"
    key_problem(".container", "Service", "Restart")             -> None  (systemd's section: not checked here)
    unit_problems("web.container", text)                        -> ["web.container:3: unknown key 'Imag' ..."]
    parse_unit_sections(text)                                   -> [Entry(section, key, line, value), ...]

`podman_version` is "major.minor" (or anything starting so: "5.4.2+ds1-2"); it
defaults to DEFAULT_TARGET_PODMAN, what Fedora CoreOS stable ships.

Sources of KEYS: the supported-key maps of podman's
pkg/systemd/quadlet/quadlet.go (`supportedContainerKeys` etc. up to v5.2, the
`groupsInfo[...].SupportedKeys` maps since), read at every release tag from
v4.4.0 (Quadlet's first release) to v5.8.2; a key's version is the first
release whose map has it. No patch release added or removed a key, and no key
was removed up to 5.8. Cross-checked with the `### Key=` headings of
docs/source/markdown/podman-systemd.unit.5.md at v5.8.2: the only keys in the
maps and not in that man page are the deprecated ones (DEPRECATED below) and
`ServiceName`, which the man page describes once for all unit types.
Quadlet refuses an unknown key in its own section ("unsupported key 'X' in
group 'Container' in <path>"), and since 5.3 also in [Quadlet].

[Unit], [Service] and [Install] are systemd's (systemd.unit(5),
systemd.service(5)); their keys are not checked here. Quadlet does read some of
them (SYSTEMD_KEYS_READ_BY_QUADLET below), refuses a few values
(SERVICE_VALUES) and, since 5.6, warns about User=/Group=/DynamicUser= in
[Service] (SERVICE_UNSUPPORTED). Sections starting "X-" are the user's own.
"""

from __future__ import annotations

import re

from .hints import closest, did_you_mean
from .unitfile import Entry, UnitSyntaxError, parse_unit_sections

# Fedora CoreOS stable ships Podman 5.8: coreos/fedora-coreos-config PR #4059
# (2026-03-16) replaced the 5.7.1 pin with podman-5.8.1-1.fc43 "to include it in
# this week's testing build" (coreos/fedora-coreos-tracker#2110), and testing is
# promoted to stable every two weeks; podman's 5.8 branch is still maintained
# (v5.8.8-dev, September 2026) and podman's repository has no 6.x release tag.
# Re-check in fedora-coreos-config's stable branch, manifest-lock.x86_64.json.
DEFAULT_TARGET_PODMAN = "5.8"

# The newest release KEYS was read from; a newer target may know keys this table does not.
TABLE_PODMAN = "5.8"

# Unit file suffix -> (Quadlet's section in it, first Podman release that reads it).
# Source: the `supportedExtensions` map of podman's cmd/quadlet/main.go (since
# v5.7 `SupportedExtensions` in pkg/systemd/quadlet/quadlet_common.go), per tag.
UNIT_TYPES: dict[str, tuple[str, str]] = {
    ".container": ("Container", "4.4"),
    ".volume": ("Volume", "4.4"),
    ".network": ("Network", "4.4"),
    ".kube": ("Kube", "4.4"),
    ".image": ("Image", "4.8"),
    ".pod": ("Pod", "5.0"),
    ".build": ("Build", "5.2"),
    ".artifact": ("Artifact", "5.7"),
}

QUADLET_SECTION = "Quadlet"          # common to every unit type, read since 5.3
SYSTEMD_SECTIONS = ("Unit", "Service", "Install")

# Section -> key -> first Podman release (major.minor) whose Quadlet accepts it.
KEYS: dict[str, dict[str, str]] = {
    "Container": {
        "AddCapability": "4.4", "AddDevice": "4.4", "AddHost": "5.3", "Annotation": "4.4", "AppArmor": "5.8",
        "AutoUpdate": "4.6", "CgroupsMode": "5.3", "ContainerName": "4.4", "ContainersConfModule": "4.8",
        "DNS": "4.7", "DNSOption": "4.7", "DNSSearch": "4.7", "DropCapability": "4.4", "Entrypoint": "5.0",
        "Environment": "4.4", "EnvironmentFile": "4.4", "EnvironmentHost": "4.4", "Exec": "4.4",
        "ExposeHostPort": "4.4", "GIDMap": "4.8", "GlobalArgs": "4.8", "Group": "4.4", "GroupAdd": "5.1",
        "HealthCmd": "4.5", "HealthInterval": "4.5", "HealthLogDestination": "5.3", "HealthMaxLogCount": "5.3",
        "HealthMaxLogSize": "5.3", "HealthOnFailure": "4.5", "HealthRetries": "4.5", "HealthStartPeriod": "4.5",
        "HealthStartupCmd": "4.5", "HealthStartupInterval": "4.5", "HealthStartupRetries": "4.5",
        "HealthStartupSuccess": "4.5", "HealthStartupTimeout": "4.5", "HealthTimeout": "4.5", "HostName": "4.6",
        "HttpProxy": "5.7", "IP": "4.5", "IP6": "4.5", "Image": "4.4", "Label": "4.4", "LogDriver": "4.5",
        "LogOpt": "5.2", "Mask": "4.6", "Memory": "5.5", "Mount": "4.5", "Network": "4.4",
        "NetworkAlias": "5.2", "NoNewPrivileges": "4.4", "Notify": "4.4", "PidsLimit": "4.7", "Pod": "5.0",
        "PodmanArgs": "4.4", "PublishPort": "4.4", "Pull": "4.6", "ReadOnly": "4.4", "ReadOnlyTmpfs": "4.8",
        "ReloadCmd": "5.5", "ReloadSignal": "5.5", "RemapGid": "4.4", "RemapUid": "4.4", "RemapUidSize": "4.4",
        "RemapUsers": "4.4", "Retry": "5.5", "RetryDelay": "5.5", "Rootfs": "4.5", "RunInit": "4.4",
        "SeccompProfile": "4.4", "Secret": "4.5", "SecurityLabelDisable": "4.5", "SecurityLabelFileType": "4.5",
        "SecurityLabelLevel": "4.5", "SecurityLabelNested": "4.6", "SecurityLabelType": "4.5",
        "ServiceName": "5.3", "ShmSize": "4.7", "StartWithPod": "5.3", "StopSignal": "5.2",
        "StopTimeout": "5.0", "SubGIDMap": "4.8", "SubUIDMap": "4.8", "Sysctl": "4.6", "Timezone": "4.4",
        "Tmpfs": "4.5", "UIDMap": "4.8", "Ulimit": "4.7", "Unmask": "4.6", "User": "4.4", "UserNS": "4.5",
        "VolatileTmp": "4.4", "Volume": "4.4", "WorkingDir": "4.6",
    },
    "Pod": {
        "AddHost": "5.3", "ContainersConfModule": "5.0", "DNS": "5.3", "DNSOption": "5.3", "DNSSearch": "5.3",
        "ExitPolicy": "5.6", "GIDMap": "5.3", "GlobalArgs": "5.0", "HostName": "5.5", "IP": "5.3", "IP6": "5.3",
        "Label": "5.6", "Network": "5.0", "NetworkAlias": "5.2", "PodName": "5.0", "PodmanArgs": "5.0",
        "PublishPort": "5.0", "RemapGid": "5.3", "RemapUid": "5.3", "RemapUidSize": "5.3", "RemapUsers": "5.3",
        "ServiceName": "5.3", "ShmSize": "5.4", "StopTimeout": "5.7", "SubGIDMap": "5.3", "SubUIDMap": "5.3",
        "UIDMap": "5.3", "UserNS": "5.3", "Volume": "5.0",
    },
    "Kube": {
        "AutoUpdate": "4.7", "ConfigMap": "4.4", "ContainersConfModule": "4.8", "ExitCodePropagation": "4.6",
        "GlobalArgs": "4.8", "KubeDownForce": "4.8", "LogDriver": "4.5", "LogOpt": "5.2", "Network": "4.4",
        "PodmanArgs": "4.6", "PublishPort": "4.4", "RemapGid": "4.4", "RemapUid": "4.4", "RemapUidSize": "4.4",
        "RemapUsers": "4.4", "ServiceName": "5.3", "SetWorkingDirectory": "4.7", "UserNS": "4.5", "Yaml": "4.4",
    },
    "Network": {
        "ContainersConfModule": "4.8", "DNS": "4.7", "DisableDNS": "4.4", "Driver": "4.4", "Gateway": "4.4",
        "GlobalArgs": "4.8", "IPAMDriver": "4.4", "IPRange": "4.4", "IPv6": "4.4", "InterfaceName": "5.6",
        "Internal": "4.4", "Label": "4.4", "NetworkDeleteOnStop": "5.5", "NetworkName": "4.7", "Options": "4.4",
        "PodmanArgs": "4.6", "ServiceName": "5.3", "Subnet": "4.4",
    },
    "Volume": {
        "ContainersConfModule": "4.8", "Copy": "4.4", "Device": "4.4", "Driver": "4.8", "GlobalArgs": "4.8",
        "Group": "4.4", "Image": "4.8", "Label": "4.4", "Options": "4.4", "PodmanArgs": "4.6",
        "ServiceName": "5.3", "Type": "4.4", "User": "4.4", "VolumeName": "4.7",
    },
    "Image": {
        "AllTags": "4.8", "Arch": "4.8", "AuthFile": "4.8", "CertDir": "4.8", "ContainersConfModule": "4.8",
        "Creds": "4.8", "DecryptionKey": "4.8", "GlobalArgs": "4.8", "Image": "4.8", "ImageTag": "4.8",
        "OS": "4.8", "PodmanArgs": "4.8", "Policy": "5.6", "Retry": "5.5", "RetryDelay": "5.5",
        "ServiceName": "5.3", "TLSVerify": "4.8", "Variant": "4.8",
    },
    "Build": {
        "Annotation": "5.2", "Arch": "5.2", "AuthFile": "5.2", "BuildArg": "5.7", "ContainersConfModule": "5.2",
        "DNS": "5.2", "DNSOption": "5.2", "DNSSearch": "5.2", "Environment": "5.2", "File": "5.2",
        "ForceRM": "5.2", "GlobalArgs": "5.2", "GroupAdd": "5.2", "IgnoreFile": "5.7", "ImageTag": "5.2",
        "Label": "5.2", "Network": "5.2", "PodmanArgs": "5.2", "Pull": "5.2", "Retry": "5.5",
        "RetryDelay": "5.5", "Secret": "5.2", "ServiceName": "5.3", "SetWorkingDirectory": "5.2",
        "TLSVerify": "5.2", "Target": "5.2", "Variant": "5.2", "Volume": "5.2",
    },
    "Artifact": {
        "Artifact": "5.7", "AuthFile": "5.7", "CertDir": "5.7", "ContainersConfModule": "5.7", "Creds": "5.7",
        "DecryptionKey": "5.7", "GlobalArgs": "5.7", "PodmanArgs": "5.7", "Quiet": "5.7", "Retry": "5.7",
        "RetryDelay": "5.7", "ServiceName": "5.7", "TLSVerify": "5.7",
    },
    "Quadlet": {
        "DefaultDependencies": "5.3",
    },
}

# Keys Quadlet still accepts but no longer documents (marked "deprecated" in
# quadlet.go since v5.0.0): key -> what to write instead.
DEPRECATED: dict[str, str] = {
    "VolatileTmp": "Tmpfs=/tmp",
    "RemapUsers": "UserNS=",
    "RemapUid": "UserNS=auto:uidmapping=...",
    "RemapGid": "UserNS=auto:gidmapping=...",
    "RemapUidSize": "UserNS=auto:size=...",
}

# systemd keys Quadlet itself reads (quadlet.go and cmd/quadlet/main.go, v5.8.2):
# (section, key, unit types, since, what Quadlet does with it).
SYSTEMD_KEYS_READ_BY_QUADLET: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("Service", "Type", (".container", ".kube"), "4.4",
     "notify (the default Quadlet sets) or oneshot; anything else is refused"),
    ("Service", "KillMode", (".container", ".kube"), "4.4",
     "mixed (the default Quadlet sets) or control-group; anything else is refused"),
    ("Service", "Type", (".volume", ".network", ".image", ".build", ".artifact"), "4.4",
     "Quadlet sets oneshot unless given"),
    ("Service", "SyslogIdentifier", tuple(UNIT_TYPES), "4.4", "Quadlet sets %N unless given"),
    ("Service", "RemainAfterExit", (".volume", ".network", ".image", ".artifact"), "4.4",
     "Quadlet sets yes unless given"),
    ("Service", "WorkingDirectory", (".build", ".kube"), "4.7", "what SetWorkingDirectory= resolves against"),
    ("Service", "User", tuple(UNIT_TYPES), "5.6", "not supported: Quadlet warns (use User= in [Container])"),
    ("Service", "Group", tuple(UNIT_TYPES), "5.6", "not supported: Quadlet warns (use Group= in [Container])"),
    ("Service", "DynamicUser", tuple(UNIT_TYPES), "5.6", "not supported: Quadlet warns"),
    ("Unit", "After/Before/BindsTo/Conflicts/OnFailure/OnSuccess/PartOf/PropagatesReloadTo/PropagatesStopTo/"
             "ReloadPropagatedFrom/Requires/Requisite/StopPropagatedFrom/Upholds/Wants", tuple(UNIT_TYPES), "5.5",
     "a value naming another Quadlet file (x.container, y.network) becomes its generated service"),
    ("Install", "WantedBy/RequiredBy/Alias", tuple(UNIT_TYPES), "4.4",
     "the generator makes the symlinks itself (generated units cannot be enabled)"),
    ("Install", "UpheldBy", tuple(UNIT_TYPES), "5.5", "likewise"),
    ("Install", "DefaultInstance", tuple(UNIT_TYPES), "5.0", "the instance a template unit is enabled as"),
)

# (unit type, [Service] key) -> (values Quadlet accepts, first release that checks).
SERVICE_VALUES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    (".container", "Type"): (("notify", "oneshot"), "4.4"),
    (".container", "KillMode"): (("mixed", "control-group"), "4.4"),
    (".kube", "Type"): (("notify", "oneshot"), "4.8"),
    (".kube", "KillMode"): (("mixed", "control-group"), "4.4"),
}

SERVICE_UNSUPPORTED: dict[str, str] = {  # [Service] key -> since when Quadlet warns
    "User": "5.6", "Group": "5.6", "DynamicUser": "5.6",
}


def parse_version(version: str | tuple[int, int]) -> tuple[int, int]:
    """(major, minor) of "5.4", "5.4.2", "5.4.2+ds1-2+b2" or (5, 4); ValueError otherwise."""
    if isinstance(version, tuple):
        return version[0], version[1]
    m = re.match(r"\s*v?(\d+)\.(\d+)", version)
    if not m:
        raise ValueError(f"not a Podman version: {version!r} (want major.minor, e.g. 5.4)")
    return int(m.group(1)), int(m.group(2))


def unit_type_of(name: str) -> str:
    """".container" for "web.container", ".container" or "container"."""
    if "." not in name:
        return "." + name
    return name[name.rindex("."):]


def unit_type_problem(unit_type: str, podman_version: str | tuple[int, int] = DEFAULT_TARGET_PODMAN) -> str | None:
    """Whether the target's Quadlet reads this kind of file at all."""
    suffix = unit_type_of(unit_type)
    if suffix not in UNIT_TYPES:
        return (f"Quadlet does not read {suffix} files (it reads {', '.join(UNIT_TYPES)})"
                + did_you_mean(suffix, UNIT_TYPES))
    since = UNIT_TYPES[suffix][1]
    if parse_version(podman_version) < parse_version(since):
        return f"{suffix} files need Podman {since}, the target has {_show(podman_version)}"
    return None


def key_problem(unit_type: str, section: str, key: str,
                podman_version: str | tuple[int, int] = DEFAULT_TARGET_PODMAN) -> str | None:
    """What the target's Quadlet would refuse (or silently ignore) about `key` in `[section]`, or None."""
    suffix = unit_type_of(unit_type)
    if suffix not in UNIT_TYPES:
        return unit_type_problem(suffix, podman_version)
    own = UNIT_TYPES[suffix][0]
    target = parse_version(podman_version)
    if section in SYSTEMD_SECTIONS:
        if section == "Service" and key in SERVICE_UNSUPPORTED:
            # a problem on every release; only the warning is new in SERVICE_UNSUPPORTED's version
            msg = f"Quadlet does not support {key}= in [Service] (Podman warns since {SERVICE_UNSUPPORTED[key]})"
            if key in KEYS[own] and own == "Container":
                msg += f"; the container's {key.lower()} is {key}= in [Container]"
            return msg
        return None
    if section.startswith("X-"):
        return None
    if section not in (own, QUADLET_SECTION):
        return _section_problem(suffix, own, section)
    known = KEYS[section]
    if key not in known:
        msg = f"unknown key '{key}' in [{section}]" + did_you_mean(key, known)
        elsewhere = [s for s, keys in KEYS.items() if key in keys and s != section]
        if elsewhere:
            msg += f" ('{key}' is a key of [{'], ['.join(elsewhere)}])"
        if target > parse_version(TABLE_PODMAN):
            msg += f" (as of Podman {TABLE_PODMAN}, the newest release this table knows)"
        return msg
    since = known[key]
    if target < parse_version(since):
        return f"key '{key}' in [{section}] needs Podman {since}, the target has {_show(podman_version)}"
    return None


def value_problem(unit_type: str, section: str, key: str, value: str,
                  podman_version: str | tuple[int, int] = DEFAULT_TARGET_PODMAN) -> str | None:
    """A systemd value the target's Quadlet refuses in this unit type (SERVICE_VALUES), or None."""
    if section != "Service":
        return None
    rule = SERVICE_VALUES.get((unit_type_of(unit_type), key))
    if rule is None or value.strip() in rule[0] or parse_version(podman_version) < parse_version(rule[1]):
        return None
    return f"Quadlet refuses {key}={value.strip()} in [Service] of a {unit_type_of(unit_type)} file " \
           f"(only {' or '.join(rule[0])})"


def deprecation(key: str) -> str | None:
    """A note for a deprecated key Quadlet still accepts, or None."""
    instead = DEPRECATED.get(key)
    return f"key '{key}' is deprecated since Podman 5.0; use {instead}" if instead else None


def unit_problems(filename: str, text: str,
                  podman_version: str | tuple[int, int] = DEFAULT_TARGET_PODMAN) -> list[str]:
    """Every problem of one Quadlet file, as "filename:line: message"."""
    problem = unit_type_problem(filename, podman_version)
    if problem:
        return [f"{filename}: {problem}"]
    try:
        entries = parse_unit_sections(text)
    except UnitSyntaxError as exc:
        return [f"{filename}:{exc.line}: {exc.detail}"]
    out, said = [], set()
    for e in entries:
        for p in (key_problem(filename, e.section, e.key, podman_version),
                  value_problem(filename, e.section, e.key, e.value, podman_version)):
            if p and p not in said:  # a misplaced section says so once, not once per key
                said.add(p)
                out.append(f"{filename}:{e.line}: {p}")
    return out


def _section_problem(suffix: str, own: str, section: str) -> str:
    owner = next((s for s, (sec, _) in UNIT_TYPES.items() if sec == section), None)
    if owner:
        return (f"section [{section}] belongs in a {owner} file; in a {suffix} file Quadlet "
                f"passes it on and systemd ignores it")
    hit = closest(section, (own, QUADLET_SECTION, *SYSTEMD_SECTIONS))
    hint = f" (did you mean [{hit}]?)" if hit else ""
    return f"unknown section [{section}]{hint}; Quadlet passes it on and systemd ignores it"


def _show(version: str | tuple[int, int]) -> str:
    major, minor = parse_version(version)
    return f"{major}.{minor}"


__all__ = ["DEFAULT_TARGET_PODMAN", "TABLE_PODMAN", "UNIT_TYPES", "KEYS", "DEPRECATED",
           "SYSTEMD_KEYS_READ_BY_QUADLET", "SERVICE_VALUES", "SERVICE_UNSUPPORTED", "Entry", "UnitSyntaxError",
           "parse_unit_sections", "parse_version", "unit_type_of", "unit_type_problem", "key_problem",
           "value_problem", "deprecation", "unit_problems"]

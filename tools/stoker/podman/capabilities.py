"""Linux capability names for `AddCapability=` / `DropCapability=`, checked as Podman reads them.

    capability_problem("NET_BIND_SERVICE")   -> None
    capability_problem("cap_net_admin")      -> None            (case and "CAP_" do not matter)
    capability_problem("all")                -> None            (every capability)
    capability_problem("NET_BIND_SERVCE")    -> 'unknown capability "CAP_NET_BIND_SERVCE";
                                                 did you mean "CAP_NET_BIND_SERVICE"?'
    capability_problem("BPF", kernel="5.4")  -> 'capability "CAP_BPF" needs Linux 5.8, the target runs 5.4'
    add_drop_problems(["NET_ADMIN"], ["net_admin"]) -> ['capability "CAP_NET_ADMIN" cannot be dropped and added']

How Podman reads the values (facts from containers/common pkg/capabilities,
capabilities.go, vendored as go.podman.io/common in podman v5.8.2; and podman's
pkg/systemd/quadlet/quadlet.go):
- Quadlet splits each `AddCapability=` / `DropCapability=` line on whitespace
  and passes every word, lowercased, as `--cap-add` / `--cap-drop`; those are
  string-slice flags, so a word may also hold several names separated by ",".
- NormalizeCapabilities upper-cases the name, adds "CAP_" when missing, and
  keeps "ALL" (any case) as "every capability".
- A name is known when the *running kernel* supports it (moby/sys/capability
  ListSupported, bounded by /proc/sys/kernel/cap_last_cap), so a capability newer
  than the target's kernel fails there with `"CAP_X": unknown capability`.
- MergeCapabilities refuses a capability both added and dropped, and "ALL" in
  both lists; dropping "ALL" and adding some (stoker's default) is fine.
"""

from __future__ import annotations

import re

from .hints import did_you_mean

ALL = "ALL"

# Name -> the Linux release that added it. Numbers and names: linux
# include/uapi/linux/capability.h (CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE, 40);
# releases: capabilities(7) "since Linux X"; the rest are older than the per-name
# notes and date from 2.2, when capabilities were introduced.
CAPABILITIES: dict[str, str] = {
    "CAP_CHOWN": "2.2",                 # 0
    "CAP_DAC_OVERRIDE": "2.2",          # 1
    "CAP_DAC_READ_SEARCH": "2.2",       # 2
    "CAP_FOWNER": "2.2",                # 3
    "CAP_FSETID": "2.2",                # 4
    "CAP_KILL": "2.2",                  # 5
    "CAP_SETGID": "2.2",                # 6
    "CAP_SETUID": "2.2",                # 7
    "CAP_SETPCAP": "2.2",               # 8
    "CAP_LINUX_IMMUTABLE": "2.2",       # 9
    "CAP_NET_BIND_SERVICE": "2.2",      # 10
    "CAP_NET_BROADCAST": "2.2",         # 11
    "CAP_NET_ADMIN": "2.2",             # 12
    "CAP_NET_RAW": "2.2",               # 13
    "CAP_IPC_LOCK": "2.2",              # 14
    "CAP_IPC_OWNER": "2.2",             # 15
    "CAP_SYS_MODULE": "2.2",            # 16
    "CAP_SYS_RAWIO": "2.2",             # 17
    "CAP_SYS_CHROOT": "2.2",            # 18
    "CAP_SYS_PTRACE": "2.2",            # 19
    "CAP_SYS_PACCT": "2.2",             # 20
    "CAP_SYS_ADMIN": "2.2",             # 21
    "CAP_SYS_BOOT": "2.2",              # 22
    "CAP_SYS_NICE": "2.2",              # 23
    "CAP_SYS_RESOURCE": "2.2",          # 24
    "CAP_SYS_TIME": "2.2",              # 25
    "CAP_SYS_TTY_CONFIG": "2.2",        # 26
    "CAP_MKNOD": "2.4",                 # 27
    "CAP_LEASE": "2.4",                 # 28
    "CAP_AUDIT_WRITE": "2.6.11",        # 29
    "CAP_AUDIT_CONTROL": "2.6.11",      # 30
    "CAP_SETFCAP": "2.6.24",            # 31
    "CAP_MAC_OVERRIDE": "2.6.25",       # 32
    "CAP_MAC_ADMIN": "2.6.25",          # 33
    "CAP_SYSLOG": "2.6.37",             # 34
    "CAP_WAKE_ALARM": "3.0",            # 35
    "CAP_BLOCK_SUSPEND": "3.5",         # 36
    "CAP_AUDIT_READ": "3.16",           # 37
    "CAP_PERFMON": "5.8",               # 38
    "CAP_BPF": "5.8",                   # 39
    "CAP_CHECKPOINT_RESTORE": "5.9",    # 40
}


def normalize(name: str) -> str:
    """The name as Podman compares it: upper case, "CAP_" prefixed, or "ALL"."""
    name = name.strip().upper()
    if name == ALL or name.startswith("CAP_"):
        return name
    return "CAP_" + name


def split_value(value: str) -> list[str]:
    """The names in one `AddCapability=` / `DropCapability=` value (whitespace, then ",")."""
    return [n for word in value.split() for n in word.split(",") if n]


def capability_problem(name: str, *, kernel: str | None = None) -> str | None:
    """What Podman would refuse about one capability name, or None.

    `kernel` ("6.12", "5.4.0-150-generic") adds a check that the capability exists there.
    """
    if not name.strip():
        return "empty capability name"
    cap = normalize(name)
    if cap == ALL:
        return None
    since = CAPABILITIES.get(cap)
    if since is None:
        return f'unknown capability "{cap}"' + did_you_mean(cap, CAPABILITIES, quote='"')
    if kernel is not None and _version(kernel) < _version(since):
        return f'capability "{cap}" needs Linux {since}, the target runs {kernel}'
    return None


def add_drop_problems(add: list[str], drop: list[str]) -> list[str]:
    """Podman's refusals for one container's added and dropped capabilities, taken together."""
    adds = {normalize(n) for n in add if n.strip()}
    drops = {normalize(n) for n in drop if n.strip()}
    if ALL in drops:
        return ["adding all caps and removing all caps not allowed"] if ALL in adds else []
    if ALL in adds:
        return []
    return [f'capability "{c}" cannot be dropped and added' for c in sorted(adds & drops)]


def _version(text: str) -> tuple[int, ...]:
    m = re.match(r"\d+(?:\.\d+)*", text.strip())
    if not m:
        raise ValueError(f"not a kernel version: {text!r}")
    return tuple(int(p) for p in m.group(0).split("."))

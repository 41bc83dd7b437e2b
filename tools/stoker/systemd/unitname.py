"""systemd unit names, checked in pure Python.

    unit_name_problem(name, *, allow=("plain", "instance", "template")) -> str | None
        None when systemd accepts NAME as a unit name of one of the allowed kinds,
        else why not, in operator terms.
    longest_base_name(suffix) -> int
        the most characters NAME may have in NAME.SUFFIX, for a unit type ("service")
        or a Podman Quadlet file type ("container", which becomes NAME.service).
    UNIT_TYPES, QUADLET_SERVICE_SUFFIXES, UNIT_NAME_MAX: the facts, as data.

Facts from unit_name_is_valid() in src/basic/unit-name.c, unit_type_table in
src/basic/unit-def.c and systemd.unit(5), the same in systemd 252.39, 257.13
(Fedora CoreOS stable ships 257, next 258) and 262:

* A unit name is at most 255 characters, suffix included (UNIT_NAME_MAX is 256
  with the C string's NUL); systemd counts bytes.
* It ends in "." and a unit type, case-sensitive: the text after the last ".".
* Before that suffix only ASCII letters, digits and ":-_.\\" may appear, plus "@".
  The first "@" splits PREFIX@INSTANCE; more "@" are plain characters.
* The prefix may not be empty (".service", "@x.service" are refused).
* Kinds: plain (no "@"), instance ("name@inst.service") and template ("name@.service",
  an empty instance); unit files on disk may be any kind, a started unit is plain or an
  instance.

Quadlet (podman-systemd.unit(5) and podman-<type>.unit(5)) turns
/etc/containers/systemd/NAME.TYPE into a service unit: NAME.container and NAME.kube
into NAME.service, NAME.volume into NAME-volume.service, and likewise -network, -pod,
-image, -build (unless the file sets ServiceName=). The file itself must also fit in a
file name, at most 255 bytes on Linux (NAME_MAX).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FILE_NAME_MAX", "QUADLET_SERVICE_SUFFIXES", "UNIT_NAME_MAX", "UNIT_TYPES", "longest_base_name",
           "quadlet_service_name", "unit_name_problem"]

# With the terminating NUL: a name has at most UNIT_NAME_MAX - 1 = 255 characters.
UNIT_NAME_MAX = 256
# Linux NAME_MAX: the longest file name, in bytes.
FILE_NAME_MAX = 255

# unit_type_table (src/basic/unit-def.c), in systemd's order.
UNIT_TYPES = ("service", "socket", "target", "device", "mount", "automount", "swap", "timer",
              "path", "slice", "scope")

# Quadlet file type -> what is appended to NAME for the generated NAME<...>.service.
QUADLET_SERVICE_SUFFIXES = {
    "container": "",
    "kube": "",
    "volume": "-volume",
    "network": "-network",
    "pod": "-pod",
    "image": "-image",
    "build": "-build",
}

def quadlet_service_name(file_name: str) -> str | None:
    """The service Quadlet generates from a Quadlet file (a path or a name):
    web.container -> web.service, db.volume -> db-volume.service; None when
    the name has no Quadlet type of QUADLET_SERVICE_SUFFIXES."""
    base, dot, suffix = file_name.rsplit("/", 1)[-1].rpartition(".")
    if not dot or suffix not in QUADLET_SERVICE_SUFFIXES:
        return None
    return f"{base}{QUADLET_SERVICE_SUFFIXES[suffix]}.service"


# VALID_CHARS_WITH_AT (src/basic/unit-name.c).
_VALID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\@")
_KINDS = ("plain", "instance", "template")


def _length(name: str) -> int:
    return len(name.encode("utf-8", "surrogatepass"))


def unit_name_problem(name: str, *, allow: Iterable[str] = _KINDS) -> str | None:
    """Why systemd would refuse NAME as a unit name, or None if it accepts it.

    allow: the kinds accepted, among "plain", "instance", "template" (all by default,
    as systemd accepts unit files; a service stoker starts should be "plain").
    The problems are reported in unit_name_is_valid()'s order, the first one only."""
    allowed = set(allow)
    if not allowed or not allowed <= set(_KINDS):
        raise ValueError(f"allow must name some of {', '.join(_KINDS)}, not {sorted(allowed)}")
    if not name:
        return "the unit name is empty"
    size = _length(name)
    if size >= UNIT_NAME_MAX:
        unit = "characters" if size == len(name) else "bytes"
        return (f"the unit name is {size} {unit} long; systemd allows at most {UNIT_NAME_MAX - 1}, "
                f"suffix included")
    dot = name.rfind(".")
    if dot < 0:
        return f'"{name}" has no unit type suffix (e.g. "{name}.service")'
    if dot == 0:
        return f'nothing comes before "{name}"'
    suffix = name[dot + 1:]
    if suffix not in UNIT_TYPES:
        if suffix in QUADLET_SERVICE_SUFFIXES:
            return (f'".{suffix}" is a Quadlet file, not a unit: systemd sees '
                    f'"{quadlet_service_name(name)}"')
        return f'".{suffix}" is not a unit type (one of: {", ".join(UNIT_TYPES)})'
    bad = sorted({c for c in name[:dot] if c not in _VALID_CHARS}, key=name.index)
    if bad:
        shown = ", ".join(f'"{c}"' if c.isprintable() else repr(c) for c in bad)
        return f"{shown} {'is' if len(bad) == 1 else 'are'} not allowed in a unit name " \
               f"(only A-Z a-z 0-9 : - _ . \\ and @)"
    at = name.find("@", 0, dot)
    if at == 0:
        return f'nothing comes before "@" in "{name}"'
    kind = "plain" if at < 0 else "template" if at == dot - 1 else "instance"
    if kind not in allowed:
        if kind == "plain":
            return f'"{name}" has no "@INSTANCE"'
        if kind == "template":
            return f'"{name}" is a template (nothing between "@" and ".{suffix}"), not a unit that runs'
        return f'"@" makes "{name}" an instance of the template "{name[:at + 1]}.{suffix}"'
    return None


def longest_base_name(suffix: str) -> int:
    """The most characters NAME may have in NAME.SUFFIX (a leading "." is optional).

    For a unit type: 255 - len(".SUFFIX"). For a Quadlet file type: the smaller of what the
    generated service name allows and what the file name allows. ValueError for other suffixes."""
    suffix = suffix.removeprefix(".")
    if suffix in UNIT_TYPES:
        return UNIT_NAME_MAX - 1 - len("." + suffix)
    if suffix in QUADLET_SERVICE_SUFFIXES:
        service = UNIT_NAME_MAX - 1 - len(QUADLET_SERVICE_SUFFIXES[suffix] + ".service")
        return min(service, FILE_NAME_MAX - len("." + suffix))
    raise ValueError(f'".{suffix}" is neither a unit type nor a Quadlet file type')

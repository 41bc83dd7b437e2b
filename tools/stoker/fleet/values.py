"""Checks of single values of a VM definition that a JSON Schema cannot make:
each function takes the value as written and returns why it is wrong, or None.

The grammars themselves live with the software that defines them
(`stoker.systemd`, `stoker.podman`); this module says which definition field
uses which grammar, in operator terms.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from importlib import resources


_ASCII_DIGITS = re.compile(r"[0-9]{1,5}")  # str.isdigit() also takes "٨٠", which podman does not


@dataclass(frozen=True)
class PortMapping:
    """One `ports:` entry, `[ADDRESS:]HOST:CONTAINER[/PROTOCOL]` (podman-run(1) --publish)."""
    address: str
    host: int
    container: int
    protocol: str


def parse_port(spec: str) -> tuple[PortMapping | None, str | None]:
    """A `ports:` entry → (mapping, None) or (None, why it is wrong). Ports are 1–65535."""
    text, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        return None, f"port {spec!r}: protocol {protocol!r} is not tcp, udp or sctp"
    address = ""
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            return None, f"port {spec!r}: an IPv6 address is written [ADDRESS]:HOST:CONTAINER"
        address, text = text[1:end], text[end + 2:]
    parts = text.split(":")
    if len(parts) == 3 and not address:
        address, parts = parts[0], parts[1:]
    if len(parts) != 2:
        return None, f"port {spec!r} is not [ADDRESS:]HOST:CONTAINER[/tcp|udp]"
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return None, f"port {spec!r}: {address!r} is not an IP address"
    numbers = []
    for what, part in zip(("host", "container"), parts):
        if not _ASCII_DIGITS.fullmatch(part) or not 1 <= int(part) <= 65535:
            return None, f"port {spec!r}: {what} port {part!r} is not a number from 1 to 65535"
        numbers.append(int(part))
    return PortMapping(address, numbers[0], numbers[1], protocol), None


@functools.lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """Every name of the IANA tz database, from the `tzdata` package (so the
    answer does not depend on the host's /usr/share/zoneinfo)."""
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def zincati_time_zone_problem(name: str) -> str | None:
    """Zincati's `updates.periodic.time_zone` is "localtime" or an IANA tz name
    (zincati docs/usage/updates-strategy.md, "Time zone configuration")."""
    if name == "localtime" or name in time_zones():
        return None
    import difflib

    hint = difflib.get_close_matches(name, sorted(time_zones()), n=1, cutoff=0.6)
    return (f"time zone {name!r} is not in the IANA tz database"
            + (f"; did you mean {hint[0]!r}?" if hint else " (for example UTC or Europe/London)"))

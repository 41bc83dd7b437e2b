"""Ports the config publishes, and whether the server's security groups open them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .containers import quadlet_files, run_commands
from .live import CloudState, Rule
from .placement import Placement


@dataclass(frozen=True)
class Published:
    """A host port range a container publishes (podman-run(1) --publish,
    podman-systemd.unit(5) PublishPort=): [[ip:][hostPort]:]containerPort[/protocol],
    hostPort a number or a range, IPv6 addresses in brackets."""
    container: str
    first: int
    last: int
    protocol: str
    address: str   # "" for every address


def parse_publish(value: str, container: str) -> list[Published]:
    """The host ports of one --publish / PublishPort= value; [] when it binds a
    loopback address (nothing outside the server reaches it), leaves the host
    port to Podman (containerPort alone, or ip::containerPort) or does not parse."""
    value = value.strip().strip("\"'")
    protocols = ["tcp"]
    if "/" in value:
        value, proto = value.rsplit("/", 1)
        protocols = [p for p in proto.lower().split(",") if p] or ["tcp"]
    address = ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1:].startswith(":"):
            return []
        address, parts = value[1:end], value[end + 2:].split(":")
        if len(parts) != 2:
            return []
        host = parts[0]
    else:
        parts = value.split(":")
        if len(parts) == 2:
            host = parts[0]
        elif len(parts) == 3:
            address, host = parts[0], parts[1]
        else:
            return []
    if address == "localhost":
        return []
    if address:
        try:
            if ipaddress.ip_address(address).is_loopback:
                return []
        except ValueError:
            return []
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", host)
    if not m:
        return []
    first, last = int(m[1]), int(m[2] or m[1])
    return [Published(container, first, last, p, address) for p in protocols]


def published_ports(doc: dict) -> list[Published]:
    """Host ports the config's containers publish: PublishPort= in the
    [Container] or [Pod] section of Quadlet files (and their drop-ins), and
    -p / --publish of `podman run` / `docker run` command lines in units. A
    container is named by ContainerName= or --name, else by its Quadlet file
    or unit."""
    found: list[Published] = []
    for q in quadlet_files(doc):
        if q.kind in ("container", "pod"):
            values = q.values("Container", "PublishPort") + q.values("Pod", "PublishPort")
            found += [pub for value in values for pub in parse_publish(value, q.container_name)]
    for run in run_commands(doc):
        found += [pub for value in run.options("-p", "--publish") for pub in parse_publish(value, run.name)]
    return list(dict.fromkeys(found))


_PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "sctp": "132"}


def rule_admits(rule: Rule, port: int, protocol: str, ipv6: bool = False) -> bool:
    """Whether an ingress rule lets `protocol` traffic to `port` in (from some
    source): direction ingress; ethertype IPv4 (IPv6 for an IPv6-bound port);
    protocol any (None) or the same (by name or IANA number); no port range
    (every port) or one that holds `port`."""
    if rule.direction != "ingress" or (rule.ethertype or "IPv4") != ("IPv6" if ipv6 else "IPv4"):
        return False
    if rule.protocol not in (None, "", "any"):
        if rule.protocol not in (protocol, _PROTOCOL_NUMBERS.get(protocol)):
            return False
        if rule.port_min is not None:
            high = rule.port_max if rule.port_max is not None else rule.port_min
            if not rule.port_min <= port <= high:
                return False
    return True


def port_warnings(placement: Placement, state: CloudState, doc: dict) -> list[str]:
    """One warning per published host port (range) that no ingress rule of the
    placement's security groups opens to an address range. A rule with a
    remote_ip_prefix (any, or a narrower one chosen on purpose) opens the port;
    a rule with only a remote group opens it only to servers in that group (the
    "default" group's own rules are of that kind), which the warning says. A
    port bound to a loopback address needs no rule and is not listed."""
    ports = published_ports(doc)
    if not ports:
        return []
    names = ", ".join(placement.security_groups or ("default",))
    if state.security_groups is None:
        return [f"the security groups could not be read ({state.security_groups_error}); "
                f"the ports the config publishes were not checked against {names}"]
    groups = {g.id: g for g in state.security_groups.values() if g is not None}
    rules = [r for g in groups.values() for r in g.rules]
    out = []
    for pub in ports:
        ipv6 = ":" in pub.address
        closed, only_groups = [], set()
        for port in range(pub.first, pub.last + 1):
            admitting = [r for r in rules if rule_admits(r, port, pub.protocol, ipv6)]
            if not any(r.remote_group_id is None for r in admitting):
                closed.append(port)
                only_groups |= {groups[r.remote_group_id].name if r.remote_group_id in groups
                                else r.remote_group_id for r in admitting}
        for first, last in _runs(closed):
            what = f"port {first}" if first == last else f"ports {first}-{last}"
            verb = "is" if first == last else "are"
            line = f"{what}/{pub.protocol} ({pub.container}) {verb} not opened by security groups {names}"
            if only_groups:
                line += f" (only to servers in security group {', '.join(sorted(only_groups))})"
            out.append(line)
    return out


def _runs(ports: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in ports:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs



"""The fleet test's private network: who gets which address, and how a VM is told.

Every booted VM gets a second NIC on one private L2 network (a VDE switch, see
vde.py) with the address the fleet gives it: `fleet.yaml` `hosts.<vm>.address`,
else `placement.vms.<vm>.address` (the bastion). Those addresses exist only on
that switch and in the guests, never on the host's own network stack.

Pure functions: a fleet's data (dict) in, a plan out; a config in, a config with
one added file out (an `Addition`, so the report lists it).
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass

from .errors import ConfigError
from .ignition import Addition, encode_source

NETWORKD_FILE = "/etc/systemd/network/10-stoker-fleet-test.network"
NM_FILE = "/etc/NetworkManager/system-connections/stoker-fleet-test.nmconnection"
WIDEST_PREFIX = 8  # 10.0.0.0/8: no wider network is ever made up for the fleet's addresses


@dataclass(frozen=True)
class PrivateNic:
    """One VM's NIC on the private network: `address`/`prefix` (IPv4), a fixed MAC to match it by,
    and the VDE switch's socket directory QEMU plugs it into."""
    vm: str
    address: str
    prefix: int
    mac: str
    switch: str = ""  # vde_switch --sock DIR; set when the switch runs

    def qemu_args(self) -> tuple[str, ...]:
        """QEMU options for this NIC: a VDE netdev (no host interface) and a virtio NIC with our MAC."""
        if not self.switch:
            raise ValueError("the NIC is not plugged into a switch yet")
        from .qemu import opt_value
        return ("-netdev", f"vde,id=fleet,sock={opt_value(self.switch)}",
                "-device", f"virtio-net-pci,netdev=fleet,mac={self.mac}")


def fleet_addresses(data: dict) -> dict[str, str]:
    """{vm: address} from fleet.yaml: `hosts.<vm>.address`, then `placement.vms.<vm>.address` for VMs
    not in `hosts`. ConfigError (naming the YAML path) for a value that is not an IPv4 address, or
    for two VMs with one address."""
    found: dict[str, tuple[str, str]] = {}
    hosts = data.get("hosts") or {}
    placed = (data.get("placement") or {}).get("vms") or {}
    for path, name, entry in ([("hosts", n, e) for n, e in hosts.items()] +
                              [("placement.vms", n, e) for n, e in placed.items() if n not in hosts]):
        value = (entry or {}).get("address") if isinstance(entry, dict) else None
        if value is None:
            continue
        where = f"fleet.yaml {path}.{name}.address"
        try:
            ip = ipaddress.IPv4Address(str(value))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not an IPv4 address") from None
        for other, (addr, _) in found.items():
            if addr == str(ip):
                raise ConfigError(f"{where}: {ip} is also the address of {other}")
        found[name] = (str(ip), where)
    return {name: addr for name, (addr, _) in found.items()}


def common_prefix(addresses: list[str]) -> int:
    """The longest prefix, at most /24, whose one network holds every address (/24 for the fleet's
    10.10.0.10-13). ConfigError when even /8 does not: those VMs could not talk on one L2 segment."""
    ips = [ipaddress.IPv4Address(a) for a in addresses]
    for prefix in range(24, WIDEST_PREFIX - 1, -1):
        nets = {ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False) for ip in ips}
        if len(nets) == 1:
            return prefix
    raise ConfigError(f"the fleet's addresses {', '.join(addresses)} are not in one /{WIDEST_PREFIX} network")


def mac_for(address: str) -> str:
    """A locally administered MAC (52:54:00, QEMU's prefix) ending in the address's last three bytes:
    10.10.0.11 → 52:54:00:0a:00:0b. Unique for addresses unique within a /8."""
    last = ipaddress.IPv4Address(address).packed[1:]
    return "52:54:00:" + ":".join(f"{b:02x}" for b in last)


def plan(data: dict, vms: list[str]) -> dict[str, PrivateNic]:
    """{vm: PrivateNic} for the VMs booted; ConfigError for a VM the fleet gives no address."""
    addresses = fleet_addresses(data)
    missing = [vm for vm in vms if vm not in addresses]
    if missing:
        raise ConfigError(f"fleet.yaml gives no private address to {', '.join(missing)} "
                          "(hosts.<vm>.address or placement.vms.<vm>.address)")
    prefix = common_prefix([addresses[vm] for vm in vms]) if vms else 24
    return {vm: PrivateNic(vm, addresses[vm], prefix, mac_for(addresses[vm])) for vm in vms}


def networkd_unit(nic: PrivateNic) -> str:
    """A systemd-networkd .network file that gives the NIC of `nic.mac` its static address, and nothing
    else (no DHCP, no IPv6 autoconfiguration, no default route: the user-mode NIC keeps those)."""
    return (f"# Added by stoker fleet-test: the private test network (fleet.yaml address of {nic.vm}).\n"
            f"[Match]\nMACAddress={nic.mac}\n\n"
            f"[Network]\nAddress={nic.address}/{nic.prefix}\nDHCP=no\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")


def nm_keyfile(nic: PrivateNic) -> str:
    """The same as a NetworkManager keyfile (Fedora CoreOS's network stack)."""
    return (f"# Added by stoker fleet-test: the private test network (fleet.yaml address of {nic.vm}).\n"
            f"[connection]\nid=stoker-fleet-test\ntype=ethernet\nautoconnect=true\n\n"
            f"[ethernet]\nmac-address={nic.mac}\n\n"
            f"[ipv4]\nmethod=manual\naddress1={nic.address}/{nic.prefix}\nnever-default=true\n\n"
            f"[ipv6]\nmethod=disabled\n")


def add_private_address(cfg: dict, nic: PrivateNic, image_kind: str) -> tuple[dict, Addition]:
    """A copy of `cfg` with the one file that gives the private NIC its address: a networkd file on the
    offline image (systemd-networkd, tools/stoker/boot/recipe.py), a NetworkManager keyfile on Fedora
    CoreOS. ConfigError when the config writes that path itself."""
    path, text, mode = ((NETWORKD_FILE, networkd_unit(nic), 0o644) if image_kind == "offline"
                        else (NM_FILE, nm_keyfile(nic), 0o600))
    out = copy.deepcopy(cfg)
    files = out.setdefault("storage", {}).setdefault("files", [])
    if any(f.get("path") == path for f in files):
        raise ConfigError(f"the config already writes {path}, the file the fleet test adds")
    files.append({"path": path, "mode": mode, "contents": encode_source(text)})
    return out, Addition("private address", path,
                         f"{nic.address}/{nic.prefix} on the NIC {nic.mac} (the fleet test's private network)")

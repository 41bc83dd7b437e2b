"""Post-deploy checks on a live server: the boot test's checks
(stoker.boot.checks.check_server) over SSH, read-only, through the bastion as
jump host, then one HTTPS request per site through the public address.

SSH uses the operator's own agent or key (`identity`, else whatever ssh picks:
the agent, ~/.ssh/id_*), never the boot test's throwaway key. The jump goes
through a ProxyCommand (`ssh -W host:port bastion`) rather than `-J`, so the
jump connection gets the same options as the target one (OpenSSH applies
command-line options to the destination only). Host keys: a rebuild gives a
server new host keys, so the rollout keeps its own known_hosts
(state/rollouts/known_hosts), accepts a server's key the first time it sees it
after the rebuild (`StrictHostKeyChecking=accept-new`) and forgets that server's
old key right after its rebuild; any other change of key is refused by ssh.
"""

from __future__ import annotations

import http.client
import os
import shlex
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..boot.checks import Results, check_server
from ..boot.expect import Expectations
from ..boot.ssh import Guest
from ..errors import StokerError


@dataclass
class Jump:
    host: str
    user: str
    port: int = 22


@dataclass
class LiveHost(Guest):
    """A server reached over SSH as `user`@`host`:`port`, through `jump` when
    set. `sh()` runs a script as root with `sudo -n` (Fedora CoreOS gives core
    passwordless sudo); exit status 255 means SSH itself failed."""
    jump: Jump | None = None
    known_hosts: Path | None = None
    key: Path | None = None     # the operator's key; None: the agent and ssh's defaults
    port: int = 22

    def _options(self, connect_timeout: int) -> list[str]:
        opts = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}", "-o", "LogLevel=ERROR",
                "-o", "ServerAliveInterval=10", "-o", "StrictHostKeyChecking=accept-new"]
        if self.known_hosts is not None:
            opts += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.key is not None:
            opts += ["-i", str(self.key), "-o", "IdentitiesOnly=yes"]
        return opts

    def argv(self, remote: str, connect_timeout: int = 10) -> list[str]:
        opts = self._options(connect_timeout)
        argv = ["ssh", *opts, "-p", str(self.port)]
        if self.jump is not None:
            proxy = ["ssh", *opts, "-p", str(self.jump.port), "-W", "%h:%p", f"{self.jump.user}@{self.jump.host}"]
            argv += ["-o", "ProxyCommand=" + " ".join(shlex.quote(a) for a in proxy)]
        return argv + [f"{self.user}@{self.host}", remote]

    def env(self) -> dict[str, str] | None:
        """The operator's agent (SSH_AUTH_SOCK) passes through to ssh and its jump."""
        from ..boot.run import minimal_env

        sock = os.environ.get("SSH_AUTH_SOCK")
        return minimal_env({"SSH_AUTH_SOCK": sock}) if sock else None

    def forget(self) -> None:
        """Drop this server's old host key from the rollout's known_hosts (after its rebuild)."""
        if self.known_hosts is None or not self.known_hosts.exists():
            return
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        subprocess.run(["ssh-keygen", "-R", name, "-f", str(self.known_hosts)], capture_output=True, check=False)


def ssh_said(host) -> str:
    """The last 3 lines ssh wrote to stderr on `host`'s last command, joined by " | " (the
    evidence of an SSH failure, exit 255)."""
    return " | ".join((getattr(host, "last_stderr", "") or "ssh exited 255").strip().splitlines()[-3:])


def check_live(host, exp: Expectations, timeout: float, interval: float = 10.0,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
               mask: Callable[[str], str] = lambda s: s) -> Results:
    """check_server on `host` (anything with `sh()`), again every `interval`
    seconds until every check passes or `timeout` seconds have gone: services
    that start slowly get that long. Returns the last attempt's results, with
    `mask` applied to what they quote (seen, details)."""
    deadline = clock() + timeout
    while True:
        left = max(deadline - clock(), 1)
        rc, _ = host.sh("true", timeout=60)
        if rc == 255:  # SSH itself failed: say so rather than run every check into the same wall
            results = Results()
            results.add("ssh", f"{getattr(host, 'user', '?')}@{getattr(host, 'host', '?')} reachable over SSH", False,
                        "an SSH session" + (f" through {host.jump.user}@{host.jump.host}"
                                            if getattr(host, "jump", None) else ""),
                        ssh_said(host))
        else:
            results = check_server(host, exp, Results(), timeout=min(left, 300), port_wait=min(left, 180))
        if results.ok or clock() + interval >= deadline:
            break
        sleep(interval)
    return Results([type(c)(c.group, c.name, c.ok, c.expected, mask(c.seen), mask(c.details)) for c in results.checks])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to `address` while the TLS server name and Host header stay the site's."""

    def __init__(self, site: str, address: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(site, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def check_sites(sites: list[str], address: str, results: Results, timeout: float = 20, port: int = 443,
                context: ssl.SSLContext | None = None) -> Results:
    """GET https://<site>/ for each site, sent to `address` (the public entry)
    with the site's name for TLS (certificate checked) and Host. Passes on any
    answer below 500: 5xx (502 above all: the bastion cannot reach the
    backend), a TLS error or no answer fail, with the evidence."""
    context = context or ssl.create_default_context()
    for site in sites:
        conn = _PinnedHTTPS(site, address, port, timeout, context)
        try:
            conn.request("GET", "/", headers={"User-Agent": "stoker-rollout"})
            answer = conn.getresponse()
            ok, seen = answer.status < 500, f"HTTP {answer.status} {answer.reason}"
            if answer.getheader("Location"):
                seen += f" → {answer.getheader('Location')}"
        except (OSError, http.client.HTTPException) as exc:
            ok, seen = False, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        results.add("site", site, ok, f"an answer below 500 from https://{site}/ via {address}", seen)
    return results


def floating_address(server) -> str | None:
    """The server's floating (public) IPv4 address, as Nova lists it."""
    for entries in (getattr(server, "addresses", None) or {}).values():
        for entry in entries or []:
            if entry.get("OS-EXT-IPS:type") == "floating" and entry.get("version", 4) == 4:
                return entry.get("addr")
    return None


def live_checker(root: Path, identity: Path | None = None, interval: float = 10.0):
    """The rollout's default post-deploy checker: SSH to the server (through
    the bastion unless it is the bastion) and check_live, then check_sites for
    the sites the server serves (fleet.yaml `sites.<vm>`; the bastion: all of
    them). The public address is fleet.yaml `rollout.public_address`, else the
    bastion server's floating address."""
    from ..boot.fleetinfo import expectations_for
    from ..cloud.config import effective_config
    from ..cloud.connection import find_or_none

    known_hosts = Path(root) / "state" / "rollouts" / "known_hosts"

    def public_address(target, facts) -> str | None:
        if facts.settings.public_address:
            return facts.settings.public_address
        if not facts.settings.bastion:
            return None
        cloud = target.cloud
        server = cloud.call("find bastion", lambda: find_or_none(cloud.conn.compute.find_server,
                                                                 facts.settings.bastion), vm=target.vm)
        return floating_address(server) if server is not None else None

    def check(vm: str, target, facts) -> Results:
        settings = facts.settings
        address = public_address(target, facts)
        if vm == settings.bastion or not settings.bastion:
            host = LiveHost(host=address or target.placement.address, user=settings.ssh_user, key=identity,
                            known_hosts=known_hosts)
        elif address is None:
            results = Results()
            results.add("ssh", "jump host", False, "the bastion's public address",
                        "none: set fleet.yaml rollout.public_address, or give the bastion a floating IP")
            return results
        else:
            host = LiveHost(host=target.placement.address, user=settings.ssh_user, key=identity,
                            known_hosts=known_hosts, jump=Jump(address, settings.ssh_user))
        known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        host.forget()  # it was just rebuilt: its old host key is gone
        exp = expectations_for(vm, effective_config(target.plan.config.document), root)
        results = check_live(host, exp, settings.check_timeout, interval, mask=target.plan.mask)
        sites = list(facts.sites.values()) if vm == settings.bastion else (
            [facts.sites[vm]] if vm in facts.sites else [])
        if sites and address:
            check_sites(sites, address, results)
        elif sites:
            results.add("site", ", ".join(sites), False, "a public address to send the requests to",
                        "none: set fleet.yaml rollout.public_address, or give the bastion a floating IP")
        return results

    def preflight(target, facts) -> None:
        """Before the lock and any rebuild: one SSH session to the bastion (the jump host of every
        check), when it exists, so an SSH that cannot work stops the rollout before any outage."""
        settings = facts.settings
        if not settings.bastion:
            return
        cloud = target.cloud
        bastion = cloud.call("find bastion", lambda: find_or_none(cloud.conn.compute.find_server, settings.bastion),
                             vm=target.vm)
        if bastion is None:
            return
        address = settings.public_address or floating_address(bastion)
        if address is None:
            return  # said by each server's checks, which need it
        known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        host = LiveHost(host=address, user=settings.ssh_user, key=identity, known_hosts=known_hosts)
        rc, _ = host.sh("true", timeout=60, attempts=1)
        if rc == 255:
            seen = ssh_said(host)
            raise StokerError(f"SSH to the bastion {settings.ssh_user}@{address} failed before any change: {seen}; "
                              "the post-deploy checks need it (check your agent or --identity, and "
                              "fleet.yaml rollout.ssh_user/public_address); nothing was changed")

    check.preflight = preflight
    return check

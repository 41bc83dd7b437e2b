"""The whole fleet at once: every VM booted in parallel on one private network, then every site
checked through the bastion.

One local registry serves every VM's images (serve.serve_images); one VDE switch
(vde.py) is the private network, each VM's second NIC on it with its fleet.yaml
address (fleetnet.py). Each VM is booted and checked by session.boot_test, as in
`stoker boot-test`; once its own checks are done it waits (still running) until
every VM is checked, then the site checks (sites.py) run from the host through
the bastion's forwarded ports 80 and 443, and every VM powers off.

The configs are rendered here with throwaway dev secrets, except the htpasswd
file of the sites behind basic auth: it holds one throwaway user whose password
only this run knows, so the test can get past the staging site's basic auth.
That is a secret value, as an operator gives one, not a change to the config.
"""

from __future__ import annotations

import json
import secrets as pysecrets
import shlex
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import sites as sites_mod
from .checks import ADDED, Results
from ..errors import UsageError
from .errors import ConfigError, unknown_vms
from .fleetinfo import expectations_for
from .fleetnet import plan as plan_network
from .ignition import check_spec, image_references, unwrap
from .image import Image
from .qemu import free_port
from .run import request_stop
from .serve import serve_images
from .session import BootOptions, BootResult, boot_test, drop_run_dir
from .vde import VdeSwitch

Event = Callable[[str], None]
TEST_USER = "stoker-fleet-test"
# Several TCG guests on few cores: udev's coldplug can take longer than systemd's 90 s default wait
# for a device, a start job longer than its 90 s, and systemd-networkd missed its 3-minute
# WatchdogSec= and was killed, so they failed for want of CPU (seen with 7-8 guests on 2 cores).
# Kernel arguments of the harness (systemd(1)), not a change to the config; a unit's own
# TimeoutStartSec= still wins.
SLOW_HOST_ARGS = ("systemd.default_device_timeout_sec=900", "systemd.default_timeout_start_sec=900",
                  "systemd.service_watchdogs=0")


@dataclass
class FleetOptions:
    memory_mb: int = 1536  # per VM
    cpus: int = 1  # per VM: under TCG more vCPUs than host cores only adds contention
    # per VM, seconds from its QEMU start until SSH answers; its wait for the system to settle
    # (`systemctl is-system-running --wait`) ends at the same deadline, or 60 s after SSH if later.
    # A checked VM has no limit of its own: it stays up until every VM is checked or has failed
    # (each within its own timeout) and the sites are checked.
    timeout: float = 1800.0
    accel: str = "auto"
    keep: bool = False  # keep the run directories (else removed however the run ends)


@dataclass
class FleetResult:
    vms: dict[str, BootResult]
    sites: Results
    bastion: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds from the first QEMU start

    @property
    def ok(self) -> bool:
        return self.sites.ok and all(r.ok for r in self.vms.values())


@dataclass
class Rendered:
    configs: dict[str, dict]  # vm → the config Ignition applies (unwrapped)
    credentials: tuple[str, str] | None  # the throwaway basic-auth user, when a site asks for one
    auth_secret: str | None  # the bastion's secret file that holds it


def render_fleet(names: list[str] | None = None, fleet=None) -> Rendered:
    """Render the VMs (default: every one) with dev secrets; the bastion's htpasswd secret file of the
    basic-auth sites gets one throwaway user. UsageError for a name that is not in vms/ (exit 2);
    ConfigError naming the problem otherwise (a VM's file broken, no bastion)."""
    from ..fleet.definitions import load_fleet
    from ..fleet.errors import FleetError
    from ..fleet.render import render_vm
    from ..fleet.secrets import env_var_name, load_secrets
    fleet = fleet or load_fleet()
    chosen = bool(names)
    names = names or fleet.names  # a VM whose file is broken too: it fails, never left out
    unknown = [n for n in names if n not in fleet.names]
    if unknown:
        raise unknown_vms(unknown, fleet.names)

    def render(name: str, environ: dict[str, str]) -> dict:
        try:
            out = render_vm(fleet, name, load_secrets(None, environ=environ, dev=True))
        except FleetError as exc:
            raise ConfigError(f"{name} does not render: " + "; ".join(str(p) for p in exc.problems)) from None
        return unwrap(json.loads(out.ignition))
    configs = {name: render(name, {}) for name in names}
    if chosen and not sites_mod.publishers_of_443(configs):
        raise UsageError(f"the VMs named ({', '.join(names)}) include no bastion: the fleet test checks every "
                         "site through the VM that publishes port 443; name it too")
    bastion = sites_mod.find_bastion(configs)
    proxy = sites_mod.read_bastion(bastion, configs[bastion])
    auth_files = {s.auth_file for s in proxy.servers if s.auth_file}
    if not auth_files:
        return Rendered(configs, None, None)
    if len(auth_files) > 1:
        raise ConfigError(f"{bastion}: the fleet test gives one throwaway user, but the sites use "
                          f"{len(auth_files)} htpasswd files")
    vm_path = proxy.vm_path(auth_files.pop())
    secret = next((s.name for s in fleet.vms[bastion].secret_files.values() if s.path == vm_path), None)
    if secret is None:
        raise ConfigError(f"{bastion}: no secret_files entry writes {vm_path}, the basic-auth user file")
    credentials = (TEST_USER, pysecrets.token_urlsafe(18))
    configs[bastion] = render(bastion, {env_var_name(bastion, secret): sites_mod.htpasswd_line(*credentials)})
    return Rendered(configs, credentials, secret)


def _prepare_bastion(guest, proxy: sites_mod.Bastion, site_names: list[str], token: str, body: str
                     ) -> tuple[dict[str, bytes], dict[str, str], str]:
    """Put the ACME token file into the web root; read the certificate each HTTPS site serves.
    Returns ({site: DER}, {site: why its certificate could not be read, naming the path}, problem or "")."""
    certs, unread = _read_certificates(guest, proxy, site_names)
    default = next((s for s in proxy.servers if proxy.http_port in s.ports and s.acme_root), None)
    if default is None:
        return certs, unread, "no server on the HTTP port serves /.well-known/ from a root"
    acme = proxy.vm_path(default.acme_root) + "/.well-known/acme-challenge"
    script = (f"mkdir -p {shlex.quote(acme)} && chmod 755 {shlex.quote(acme)} {shlex.quote(str(Path(acme).parent))}"
              f" && printf %s {shlex.quote(body)} > {shlex.quote(acme + '/' + token)}"
              f" && chmod 644 {shlex.quote(acme + '/' + token)}")
    status, _ = guest.sh(script, timeout=60)
    if status != 0:
        return certs, unread, f"could not write the ACME token under {acme}: {guest.last_stderr.strip()[:200]}"
    return certs, unread, ""


def _read_certificates(guest, proxy: sites_mod.Bastion, site_names: list[str]
                       ) -> tuple[dict[str, bytes], dict[str, str]]:
    """({site: DER of the first certificate of its ssl_certificate file}, {site: why not}) for each
    site, read on the bastion as root. A site whose certificate cannot be read is in the second map with
    the path and the error (cat's "Permission denied", "No such file or directory"), so its HTTPS rows
    fail instead of passing unchecked."""
    certs: dict[str, bytes] = {}
    unread: dict[str, str] = {}
    for site in dict.fromkeys(site_names):
        server = proxy.server_for(site, tls=True)
        if server is None or not server.certificate:
            unread[site] = f"no HTTPS server for {site} on {proxy.name} names an ssl_certificate"
            continue
        try:
            path = proxy.vm_path(server.certificate)
        except ConfigError as exc:
            unread[site] = f"{server.certificate}: {exc}"
            continue
        status, pem = guest.sh(f"cat -- {shlex.quote(path)}", timeout=60)
        if status != 0:
            error = guest.last_stderr.strip().splitlines()[-1:] or [f"exit status {status}"]
            unread[site] = f"cannot read {path} on {proxy.name}: {error[0].removeprefix(f'cat: {path}: ')}"
            continue
        der = sites_mod.first_certificate(pem)
        if der is None:
            unread[site] = f"{path} on {proxy.name} holds no PEM certificate"
            continue
        certs[site] = der
    return certs, unread


def run_fleet(rendered: Rendered, image: Image, fleet_data: dict, fleet_registry: str,
              options: FleetOptions | None = None, event: Event | None = None) -> FleetResult:
    """Boot every rendered VM in parallel and check it, then check every site through the bastion.
    Raises ConfigError (a config the image cannot boot, a missing address), MissingTool (QEMU, vde2,
    docker-registry, skopeo, ...), ImageError (an image no stand-in serves).

    Interrupted (KeyboardInterrupt) in the calling thread stops every boot within seconds: their ssh
    commands are killed (run.request_stop), each VM's QEMU stopped, the switch and registry too.
    The run directories are removed at the end, however it ends, unless `options.keep`."""
    options = options or FleetOptions()
    event = event or (lambda msg: None)
    configs = rendered.configs
    for name, cfg in configs.items():
        check_spec(cfg, image.ignition_max_spec, image.kind)
    bastion = sites_mod.find_bastion(configs)
    proxy = sites_mod.read_bastion(bastion, configs[bastion])
    token = pysecrets.token_hex(12)
    acme_body = f"stoker fleet test {token}\n"
    checks = sites_mod.plan_sites(fleet_data, proxy, token)
    names = sorted(configs)
    nics = plan_network(fleet_data, names)
    refs = list(dict.fromkeys(ref for cfg in configs.values() for ref in image_references(cfg)))
    run_dir = Path(tempfile.mkdtemp(prefix="stoker-fleet-"))
    ports = {"http": free_port(), "https": free_port()}
    ready = {name: threading.Event() for name in names}
    release = threading.Event()
    cancel = threading.Event()  # set when the run is interrupted: every boot stops waiting
    guests: dict = {}
    containers: dict[str, dict[str, str]] = {}
    prepared: dict = {}
    t0 = time.monotonic()
    result = FleetResult({}, Results(), bastion)

    def hold(name: str):
        def after_checks(guest) -> None:
            if release.is_set():  # a retried boot after the site checks: nothing to wait for
                return
            guests[name] = guest
            _, ps = guest.sh(sites_mod.PODMAN_PS, timeout=120)
            containers[name] = sites_mod.parse_podman_ps(ps)
            if name == bastion:
                site_names = [c.host for c in checks]
                prepared["certs"], prepared["unread"], prepared["problem"] = _prepare_bastion(
                    guest, proxy, site_names, token, acme_body)
            event(f"{name}: checked, waiting for the other VMs")
            ready[name].set()
            release.wait()  # set once the sites are checked, or the run failed or was interrupted
        return after_checks

    def boot(name: str) -> BootResult:
        forwards = {80: ports["http"], 443: ports["https"]} if name == bastion else {}
        opts = BootOptions(timeout=options.timeout, memory_mb=options.memory_mb, cpus=options.cpus,
                           accel=options.accel, keep=options.keep, run_dir=None, registry_mirror=mirror,
                           private_nic=nics[name], kernel_args=SLOW_HOST_ARGS, forwards=forwards,
                           cancel=cancel)
        try:
            return boot_test(name, configs[name], image, opts, event=lambda m: event(f"{name}: {m}"),
                             expectations=expectations_for(name, configs[name]), after_checks=hold(name))
        finally:
            ready[name].set()

    try:
        with serve_images(refs, fleet_registry, event=event) as mirror, VdeSwitch(run_dir / "switch") as switch:
            event(f"private network: vde_switch on {switch.sock}; "
                  + ", ".join(f"{n} {nic.address}" for n, nic in nics.items()))
            nics = {n: _plugged(nic, str(switch.sock)) for n, nic in nics.items()}
            t0 = time.monotonic()

            def check_sites() -> None:
                result.timings["all checked"] = round(time.monotonic() - t0, 1)
                event("every VM checked; checking the sites through the bastion")
                _site_checks(result.sites, checks, proxy, ports, containers, rendered, prepared, acme_body,
                             bastion in guests, fleet_data)
                result.timings["sites checked"] = round(time.monotonic() - t0, 1)
            result.vms.update(_boot_all(names, boot, ready, release, cancel, check_sites))
    finally:
        drop_run_dir(run_dir, options.keep, event)
    result.timings["total"] = round(time.monotonic() - t0, 1)
    return result


def _boot_all(names: list[str], boot: Callable[[str], BootResult], ready: dict[str, threading.Event],
              release: threading.Event, cancel: threading.Event, after_all: Callable[[], None]
              ) -> dict[str, BootResult]:
    """Run boot(name) for every name, each in a thread of its own; once every VM is `ready` (checked,
    or failed), run after_all() (the site checks), then `release` the VMs and return {name: result}.

    This thread never blocks without a timeout: a signal the kernel hands to another thread reaches
    Python's handler only once the main thread runs again, so it wakes every 0.5 s. A
    KeyboardInterrupt (Interrupted) here cancels every boot and ends their ssh commands now
    (run.request_stop); any other exception cancels them and lets the VMs power off. Either way
    every boot has ended when this returns or raises."""
    pool = ThreadPoolExecutor(len(names), thread_name_prefix="fleet")
    futures: dict = {}

    def all_done() -> bool:
        return all(f.done() for f in futures.values())
    try:
        futures = {name: pool.submit(boot, name) for name in names}
        for name in names:
            _wait_until(ready[name].is_set)
        after_all()
    except KeyboardInterrupt as exc:  # the other threads' ssh commands end now, not in minutes
        cancel.set()
        request_stop(getattr(exc, "signame", "SIGINT"))
        raise
    except BaseException:  # an error here: every boot stops waiting, the VMs power off
        cancel.set()
        raise
    finally:
        release.set()
        try:
            _wait_until(all_done)
        finally:
            pool.shutdown(wait=True)
    return {name: futures[name].result() for name in names}


def _wait_until(done: Callable[[], bool], step: float = 0.5) -> None:
    """Return once done() is true, looking every `step` seconds."""
    while not done():
        time.sleep(step)


def _plugged(nic, sock: str):
    from dataclasses import replace
    return replace(nic, switch=sock)


def _site_checks(results: Results, checks, proxy, ports, containers, rendered: Rendered, prepared: dict,
                 acme_body: str, bastion_up: bool, fleet_data: dict, fetcher=None) -> None:
    """Add a row per site check to `results`; `fetcher` (default sites.fetch) asks the bastion."""
    if not bastion_up:
        results.add("site", "the bastion", False, f"{proxy.name} up and checked", "it did not come up over SSH")
        return
    if prepared.get("problem"):
        results.add("site", "ACME web root", False, "the test's token file written", prepared["problem"])
    names = {c.host for c in checks}
    ctx = sites_mod.Context(ports=ports, containers=containers, names=names, credentials=rendered.credentials,
                            auth_sites={n for s in proxy.servers if s.auth_file for n in s.names},
                            acme_body=acme_body, certificates=prepared.get("certs", {}),
                            unread_certificates=prepared.get("unread", {}))
    if rendered.credentials:
        results.add(ADDED, "basic-auth user", True, f"secret {rendered.auth_secret}",
                    f"one throwaway user {rendered.credentials[0]}, password known to this run only")
    for check in checks:
        sites_mod.evaluate(check, ctx, results, fetcher or sites_mod.fetch)

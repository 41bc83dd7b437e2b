"""Container-level probes: what the host cannot see from outside the guest's container networks.

After the boot test's checks, with the guest's Podman API forwarded to the host
(podman_api.forwarded_api), throwaway probe containers are started in the
guest with testcontainers (the probe image: standins.catalog.PROBE, served
from the test registry) and look from inside:

- **reach**: each running service container reaches each host:port its image
  needs (the stand-in contract's `needs`, `$VAR` read from the container's
  `Environment=`), by name: a probe in the service's own network namespace
  (`--network container:NAME`, so it uses that container's resolver) resolves
  the name to the address the target container has on their shared network
  and opens a TCP connection;
- **environment files** (`EnvironmentFile=`, stoker's /etc/stoker/<name>.env):
  a running service's main process has every variable of its file with the
  same value (compared by sha256, never shown); a probe container on the same
  network has neither the file nor the variables, and cannot read the file
  even when it is bind-mounted into it, as uid 65534; the SSH user (core,
  not root, no sudo) cannot read it on the VM.

Facts come from the booted Ignition config's Quadlet files (ContainerName=,
Image=, Network=, Environment=, EnvironmentFile=, Exec=) and the stand-in
catalog's contracts. Each probe is one row of the boot test's results, group
"probe". Without testcontainers (pip) the rows say "not exercised" and why.
Values are never logged: only names and hashes leave the guest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .checks import NOT_EXERCISED, Results
from .ignition import QUADLET_DIR, decode_source, parse_unit, unit_value, unit_values
from .standins.model import StandIn

GROUP = "probe"
PROBE_USER = "65534:65534"  # nobody: a container user that owns nothing
SECRETS_MOUNT = "/probe/secrets"

Event = Callable[[str], None]


@dataclass(frozen=True)
class ProbeSpec:
    """What the boot test needs to probe: the probe image's full reference as the guest pulls it
    (None: not served, and `skip` says why), the fleet's registry and the stand-in catalog."""
    image: str | None
    fleet_registry: str
    standins: tuple[StandIn, ...] = ()
    skip: str = ""


@dataclass(frozen=True)
class Container:
    """One Quadlet container of the config."""
    name: str                       # ContainerName= (default systemd-<unit>)
    unit: str                       # <name>.service
    image: str                      # Image=
    networks: tuple[str, ...] = ()  # names as Podman knows them (NetworkName= of a .network file)
    environment: tuple[tuple[str, str], ...] = ()
    env_files: tuple[str, ...] = ()
    service: bool = False           # started at boot and long-running (not a job)
    command: tuple[str, ...] = ()   # Exec=


@dataclass(frozen=True)
class Reach:
    """`container` should reach `host`:`port` (`var` names the variable the host came from)."""
    container: str
    host: str
    port: int
    var: str = ""


@dataclass
class Plan:
    containers: list[Container] = field(default_factory=list)
    reaches: list[Reach] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # needs whose $VAR the container does not set

    def env_files(self) -> dict[str, list[Container]]:
        """{environment file: [containers that read it]}, in config order."""
        out: dict[str, list[Container]] = {}
        for c in self.containers:
            for path in c.env_files:
                out.setdefault(path, []).append(c)
        return out

    def network_of(self, name: str) -> str:
        c = next((c for c in self.containers if c.name == name), None)
        return c.networks[0] if c and c.networks else ""


# --- the plan (pure) -----------------------------------------------------------

def quadlet_files(cfg: dict) -> dict[str, str]:
    """{file name: text} of the config's Quadlet files (/etc/containers/systemd/, any depth)."""
    out = {}
    for entry in cfg.get("storage", {}).get("files", []):
        path = entry.get("path", "")
        if path.startswith(QUADLET_DIR):
            text = decode_source(entry.get("contents"))
            if text is not None:
                out[PurePosixPath(path).name] = text
    return out


def _network_names(files: dict[str, str]) -> dict[str, str]:
    """`name.network` -> the network's name in Podman (NetworkName=, else systemd-<name>; podman-systemd.unit(5))."""
    out = {}
    for fname, text in files.items():
        if fname.endswith(".network"):
            out[fname] = unit_value(parse_unit(text), "Network", "NetworkName") or f"systemd-{fname[:-8]}"
    return out


def parse_environment(values: list[str]) -> tuple[tuple[str, str], ...]:
    """Quadlet `Environment=` values (each one or more NAME=VALUE words, shell-quoted) -> pairs."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        try:
            words = shlex.split(value)
        except ValueError:
            words = value.split()
        for word in words:
            name, sep, val = word.partition("=")
            if sep and name:
                pairs.append((name, val))
    return tuple(pairs)


def containers(cfg: dict) -> list[Container]:
    """Every Quadlet `.container` of the config, as booted."""
    files = quadlet_files(cfg)
    networks = _network_names(files)
    out = []
    for fname, text in files.items():
        if not fname.endswith(".container"):
            continue
        sections = parse_unit(text)
        unit = fname[:-len(".container")] + ".service"
        install = sections.get("Install", [])
        oneshot = unit_value(sections, "Service", "Type") == "oneshot"
        enabled = any(k in ("WantedBy", "RequiredBy", "UpheldBy") for k, _ in install)
        nets = tuple(networks.get(n, n) for n in (v.split(":", 1)[0] for v in unit_values(sections, "Container",
                                                                                          "Network")))
        try:
            command = tuple(shlex.split(unit_value(sections, "Container", "Exec")))
        except ValueError:
            command = ()
        out.append(Container(
            name=unit_value(sections, "Container", "ContainerName") or f"systemd-{unit[:-8]}",
            unit=unit, image=unit_value(sections, "Container", "Image"), networks=nets,
            environment=parse_environment(unit_values(sections, "Container", "Environment")),
            env_files=tuple(v.lstrip("-") for v in unit_values(sections, "Container", "EnvironmentFile")),
            service=enabled and not oneshot, command=command))
    return out


def plan(cfg: dict, standins: tuple[StandIn, ...], fleet_registry: str) -> Plan:
    """What to probe in `cfg`: each running service's needs (from its image's stand-in contract,
    the mode its Exec= names or the default) and every environment file."""
    result = Plan(containers=containers(cfg))
    prefix = fleet_registry.rstrip("/") + "/"
    by_ref = {prefix + s.image: s for s in standins}
    by_ref.update({prefix + s.image.rsplit(":", 1)[0]: s for s in standins if s.image.endswith(":latest")})
    for c in result.containers:
        s = by_ref.get(c.image)
        if not c.service or s is None:
            continue
        mode = s.contract.mode(c.command[0]) if c.command else None
        mode = mode or s.contract.mode(s.contract.default)
        env = dict(c.environment)
        for need in mode.needs if mode else ():
            if need.host.startswith("$"):
                var = need.host[1:]
                if not env.get(var):
                    result.unresolved.append(f"{c.name}: {need.host}:{need.port} ({var} is not in its Environment=)")
                    continue
                result.reaches.append(Reach(c.name, env[var], need.port, var))
            else:
                result.reaches.append(Reach(c.name, need.host, need.port))
    return result


def env_file_digests(text: str) -> dict[str, str]:
    """systemd EnvironmentFile= text -> {name: sha256 of the value}; the values themselves are dropped.

    systemd.exec(5): NAME=VALUE lines, `#`/`;` comments, blank lines, a value may be quoted."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = _digest(value)
    return out


def environ_digests(raw: bytes) -> dict[str, str]:
    """/proc/PID/environ (NUL-separated NAME=VALUE) -> {name: sha256 of the value}."""
    out = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and name:
            out[name.decode(errors="replace")] = _digest(value.decode(errors="replace"))
    return out


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- running the probes ------------------------------------------------------------

def unavailable() -> str | None:
    """Why the probes cannot run on this host, or None."""
    try:
        import testcontainers.core.container  # noqa: F401
    except ImportError:
        return "testcontainers is not installed (pip install 'testcontainers>=4.15', in stoker's [probes] extra)"
    return None


def skipped(results: Results, why: str) -> None:
    results.add(NOT_EXERCISED, "container probes", True, "probes inside the guest's container networks",
                f"NOT RUN: {why}")


@contextlib.contextmanager
def _docker_host(url: str) -> Iterator[None]:
    """DOCKER_HOST for testcontainers and docker-py (both read it from the environment), restored after.
    Ryuk (testcontainers' reaper) is disabled: its image comes from Docker Hub, which the offline
    guest cannot reach; the harness removes every probe itself and the VM is thrown away anyway."""
    from testcontainers.core.config import testcontainers_config
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST",)}
    ryuk = testcontainers_config.ryuk_disabled
    os.environ["DOCKER_HOST"] = url
    testcontainers_config.ryuk_disabled = True
    try:
        yield
    finally:
        testcontainers_config.ryuk_disabled = ryuk
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _probe_json(container, argv: list[str]) -> dict:
    result = container.exec(argv)
    text = (result.output or b"").decode(errors="replace").strip()
    try:
        return json.loads(text.splitlines()[-1]) if text else {"error": f"no answer (exit {result.exit_code})"}
    except ValueError:
        return {"error": f"exit {result.exit_code}: {text[-200:]}"}


def run_probes(guest, cfg: dict, results: Results, *, probe_image: str, standins: tuple[StandIn, ...],
               fleet_registry: str, directory: Path, event: Event | None = None,
               api_timeout: float = 180.0) -> Plan:
    """Run every probe of `plan(cfg)` in the booted guest and add one row per probe to `results`.

    probe_image: the probe's full reference as the guest pulls it (through the test registry's
    mirror). A probe that cannot run (the API does not come up, a probe container fails) is a
    failed row naming the step, never a silent pass. Returns the plan."""
    event = event or (lambda msg: None)
    the_plan = plan(cfg, standins, fleet_registry)
    why = unavailable()
    if why:
        skipped(results, why)
        return the_plan
    for note in the_plan.unresolved:
        results.add(GROUP, note, False, "a host the container needs, named by its environment", "variable not set")
    if not the_plan.reaches and not the_plan.env_files():
        skipped(results, "the config has no container with a need or an environment file to probe")
        return the_plan
    from .errors import BootError
    from .podman_api import forwarded_api
    try:
        with forwarded_api(guest, directory, timeout=api_timeout) as url, _docker_host(url):
            event(f"container probes through the guest's Podman API ({url})")
            _reaches(the_plan, results, probe_image, event)
            _env_files(guest, the_plan, results, probe_image, event)
    except BootError as exc:
        results.add(GROUP, "Podman API of the guest", False, "answers over the forwarded socket", str(exc))
    return the_plan


def _client():
    import docker
    return docker.from_env(timeout=300)


def _probe(image: str):
    from testcontainers.core.container import DockerContainer
    return DockerContainer(image, docker_client_kw={"timeout": 300})


def _reaches(the_plan: Plan, results: Results, image: str, event: Event) -> None:
    if not the_plan.reaches:
        return
    client = _client()
    try:
        by_source: dict[str, list[Reach]] = {}
        for r in the_plan.reaches:
            by_source.setdefault(r.container, []).append(r)
        for source, reaches in by_source.items():
            event(f"probe in {source}'s network namespace")
            try:
                with _probe(image).with_kwargs(network_mode=f"container:{source}") as probe:
                    for r in reaches:
                        _reach(client, the_plan, probe, r, results)
            except Exception as exc:  # docker/testcontainers errors of any kind: a failed row, named
                for r in reaches:
                    results.add(GROUP, f"{r.container} reaches {r.host}:{r.port}", False,
                                "a probe in its network namespace", f"probe did not run: {_short(exc)}")
    finally:
        client.close()


def _reach(client, the_plan: Plan, probe, r: Reach, results: Results) -> None:
    network = the_plan.network_of(r.container)
    target = next((c for c in the_plan.containers if c.name == r.host), None)
    want_ip = ""
    if target is not None and network:
        try:
            nets = client.containers.get(target.name).attrs["NetworkSettings"]["Networks"]
            want_ip = (nets.get(network) or {}).get("IPAddress", "")
        except Exception as exc:
            results.add(GROUP, f"{r.container} reaches {r.host}:{r.port}", False,
                        f"{r.host} is a running container on {network}", f"not found: {_short(exc)}")
            return
    seen = _probe_json(probe, ["stoker-probe", "connect", r.host, str(r.port), "60"])
    addresses = seen.get("addresses") or []
    ok = bool(seen.get("connected")) and (not want_ip or want_ip in addresses)
    where = f" ({r.var})" if r.var else ""
    expected = (f"resolves {r.host}{where} to {r.host}'s address on network {network} ({want_ip}) and connects"
                if want_ip else f"resolves {r.host}{where} and connects")
    shown = f"resolved to {', '.join(addresses) or 'nothing'}, " + \
        ("connected" if seen.get("connected") else f"not connected: {seen.get('error')}")
    results.add(GROUP, f"{r.container} reaches {r.host}:{r.port}", ok, expected, shown)


def _env_files(guest, the_plan: Plan, results: Results, image: str, event: Event) -> None:
    files = the_plan.env_files()
    if not files:
        return
    digests: dict[str, dict[str, str]] = {}
    for path in files:
        rc, text = guest.sh(f"cat {shlex.quote(path)}")
        digests[path] = env_file_digests(text) if rc == 0 else {}
        del text  # only names and hashes are kept
    client = _client()
    try:
        for path, users in files.items():
            for c in users:
                if c.service:
                    _sees(client, c, path, digests[path], results)
    finally:
        client.close()
    _hidden(the_plan, files, digests, results, image, event)
    for path in files:
        rc, _, err = guest.sh_as_user(f"cat {shlex.quote(path)} >/dev/null")
        ok = rc not in (0, 255) and "Permission denied" in err
        results.add(GROUP, f"{path} unreadable by {guest.user}", ok,
                    f"{guest.user} (not root, no sudo) cannot read it on the VM",
                    "Permission denied" if ok else (f"read it (exit {rc})" if rc == 0 else err.strip()[-200:]))


def _sees(client, c: Container, path: str, want: dict[str, str], results: Results) -> None:
    name = f"{c.name} has the variables of {path}"
    expected = f"its main process has all {len(want)} variables, same values (compared by sha256)"
    try:
        container = client.containers.get(c.name)
        run = container.exec_run(["cat", "/proc/1/environ"])
        if run.exit_code == 0:
            have, source = environ_digests(run.output), "main process"
        else:  # no cat in the image: what Podman gave the container
            env = container.attrs.get("Config", {}).get("Env") or []
            have, source = environ_digests("\0".join(env).encode()), "container configuration"
    except Exception as exc:
        results.add(GROUP, name, False, expected, f"could not look: {_short(exc)}")
        return
    # an image may scrub secrets from its main process after reading them (sclorg's PostgreSQL
    # unsets its passwords before exec'ing postgres): those count when Podman gave them to the container
    env = environ_digests("\0".join(container.attrs.get("Config", {}).get("Env") or []).encode())
    scrubbed = sorted(n for n in want if n not in have and env.get(n) == want[n])
    have = {**{n: env[n] for n in scrubbed}, **have}
    if scrubbed:
        source += f"; {', '.join(scrubbed)} only in the container's configuration, scrubbed by the image"
    missing = sorted(n for n in want if n not in have)
    differ = sorted(n for n in want if n in have and have[n] != want[n])
    ok = bool(want) and not missing and not differ
    seen = f"{len(want) - len(missing) - len(differ)} of {len(want)} ({source})"
    if missing:
        seen += "; missing " + ", ".join(missing)
    if differ:
        seen += "; different value " + ", ".join(differ)
    results.add(GROUP, name, ok, expected, seen if want else "the file has no variables")


def _hidden(the_plan: Plan, files: dict[str, list[Container]], digests: dict[str, dict[str, str]],
            results: Results, image: str, event: Event) -> None:
    network = next((n for c in the_plan.containers for n in c.networks), "")
    event(f"probe as uid {PROBE_USER} on network {network or '(default)'}")
    mounts = {path: f"{SECRETS_MOUNT}/{PurePosixPath(path).name}" for path in files}
    names = sorted({n for d in digests.values() for n in d})
    probe = _probe(image).with_kwargs(user=PROBE_USER, **({"network": network} if network else {}))
    for path, inside in mounts.items():
        probe = probe.with_volume_mapping(path, inside, "ro")
    try:
        with probe as p:
            env_seen = _probe_json(p, ["stoker-probe", "env", *names])
            for path, inside in mounts.items():
                own = _probe_json(p, ["stoker-probe", "read", path])
                mounted = _probe_json(p, ["stoker-probe", "read", inside])
                leaked = sorted(set(env_seen.get("set") or []) & set(digests[path]))
                ok = (own.get("error") == "ENOENT" and mounted.get("error") == "EACCES" and not leaked
                      and "set" in env_seen)
                results.add(GROUP, f"{path} hidden from other containers", ok,
                            f"a probe on {network or 'the default network'}: no such file, none of its "
                            f"variables; bind-mounted into the probe as uid {PROBE_USER.split(':')[0]}: EACCES",
                            f"file: {own.get('error') or 'readable'}; variables: "
                            f"{', '.join(leaked) if leaked else 'none'}; mounted: {mounted.get('error') or 'readable'}")
    except Exception as exc:
        for path in files:
            results.add(GROUP, f"{path} hidden from other containers", False, "a probe container as uid 65534",
                        f"probe did not run: {_short(exc)}")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"

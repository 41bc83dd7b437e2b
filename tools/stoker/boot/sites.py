"""The fleet test's site checks: what to ask the bastion, and whether its answers are right.

Facts come from fleet.yaml (`sites`, `hosts`) and from the bastion's rendered
config: its nginx configuration (the `conf.d` its nginx container mounts), the
Quadlet `Volume=` lines that map the container's paths to the VM's, the ports
it publishes. The checks run from the host through the bastion's forwarded
ports 80 and 443 only, with the site's Host header (and SNI over HTTPS).

How an answer names its VM: each backend's stand-in answers
"stoker stand-in for IMAGE on HOST (...)", HOST being the container's host name,
which Podman sets to the first 12 characters of the container's ID (no
`HostName=` in the fleet's Quadlet files). The IDs are random per container, so
the test asks every VM over SSH which containers it runs (`podman ps`) and names
the VM that runs the one that answered. ims and ims-staging run the same images
but never share a container ID. Nothing is added to the config for this.

Everything here but `fetch` is pure and unit-tested.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .checks import Results
from .errors import ConfigError
from .ignition import QUADLET_DIR, container_ports, decode_source, parse_unit, unit_value, unit_values

ALIASES_KEY = "aliases"  # fleet.yaml sites.aliases: space-separated names redirected to the IMS site
CANONICAL_KEY = "ims"  # the site the aliases redirect to
ANSWER = re.compile(r"stoker stand-in for (?P<image>\S+) on (?P<host>\S+)")
MAX_REDIRECTS = 5


# --- nginx configuration --------------------------------------------------------------------

@dataclass
class Directive:
    name: str
    args: list[str]
    block: list["Directive"] | None = None

    def all(self, name: str) -> list["Directive"]:
        return [d for d in self.block or () if d.name == name]

    def first(self, name: str) -> list[str] | None:
        found = self.all(name)
        return found[0].args if found else None


def _tokens(text: str):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c
            i += 1
        elif c in "\"'":
            j = text.find(c, i + 1)
            if j < 0:
                raise ValueError("an unclosed quote")
            yield ("word", text[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield ("word", text[i:j])
            i = j


def parse_nginx(text: str) -> list[Directive]:
    """nginx configuration text → directives (blocks nested). ValueError on unbalanced braces."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for tok in _tokens(text):
        if isinstance(tok, tuple):
            words.append(tok[1])
        elif tok == ";":
            if words:
                stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif tok == "{":
            if not words:
                raise ValueError("a block without a name")
            d = Directive(words[0], words[1:], [])
            stack[-1].append(d)
            stack.append(d.block)
            words = []
        else:
            if len(stack) == 1 or words:
                raise ValueError("an unbalanced '}'")
            stack.pop()
    if len(stack) != 1 or words:
        raise ValueError("an unclosed block or directive at the end")
    return stack[0]


@dataclass(frozen=True)
class Server:
    names: tuple[str, ...]
    ports: tuple[int, ...]
    tls: bool
    auth_file: str | None  # auth_basic_user_file, when auth_basic is not off
    acme_root: str | None  # root of `location /.well-known/`
    certificate: str | None


def servers(text: str) -> list[Server]:
    out = []
    for d in parse_nginx(text):
        if d.name != "server":
            continue
        ports, tls = [], False
        for listen in d.all("listen"):
            port = listen.args[0].rsplit(":", 1)[-1]
            if port.isdigit():
                ports.append(int(port))
            tls = tls or "ssl" in listen.args[1:]
        auth = d.first("auth_basic")
        acme = next((loc.first("root") for loc in d.all("location") if loc.args[-1:] == ["/.well-known/"]), None)
        cert = d.first("ssl_certificate")
        out.append(Server(tuple(d.first("server_name") or ()), tuple(ports), tls,
                          (d.first("auth_basic_user_file") or [None])[0] if auth and auth[0] != "off" else None,
                          acme[0] if acme else None, cert[0] if cert else None))
    return out


# --- the bastion's config -----------------------------------------------------------------------

@dataclass
class Bastion:
    """What the site checks need from the bastion's config (paths as the VM sees them)."""
    name: str
    http_port: int  # container ports its proxy listens on, published as the VM's 80 and 443
    https_port: int
    servers: list[Server]
    volumes: list[tuple[str, str]]  # (VM path, container path) of the proxy container

    def vm_path(self, container_path: str) -> str:
        """The VM's path of a path inside the proxy container; ConfigError when no volume maps it."""
        for src, dst in sorted(self.volumes, key=lambda v: -len(v[1])):
            if container_path == dst or container_path.startswith(dst.rstrip("/") + "/"):
                return src + container_path[len(dst):]
        raise ConfigError(f"the bastion's proxy container mounts nothing at {container_path}")

    def server_for(self, host: str, tls: bool) -> Server | None:
        port = self.https_port if tls else self.http_port
        return next((s for s in self.servers if port in s.ports and host in s.names), None)


def publishers_of_443(configs: dict[str, dict]) -> list[str]:
    """The VMs whose config publishes port 443 (the bastion, when there is exactly one)."""
    return [vm for vm, cfg in configs.items() if 443 in _published(cfg)]


def find_bastion(configs: dict[str, dict]) -> str:
    """The VM whose config publishes port 443: the only way in. ConfigError unless exactly one."""
    found = publishers_of_443(configs)
    if len(found) != 1:
        raise ConfigError(f"the fleet test goes through the one VM that publishes port 443; found "
                          f"{', '.join(found) or 'none'}")
    return found[0]


def _quadlets(cfg: dict):
    for entry in cfg.get("storage", {}).get("files", []):
        path = entry.get("path", "")
        if path.startswith(QUADLET_DIR) and path.endswith(".container"):
            yield path, parse_unit(decode_source(entry.get("contents")) or "")


def _published(cfg: dict) -> dict[int, int]:
    ports = {}
    for _, unit in _quadlets(cfg):
        for value in unit_values(unit, "Container", "PublishPort"):
            host, ctr, proto = container_ports(value)
            if host is not None and proto == "tcp":
                ports[host] = ctr
    return ports


def read_bastion(name: str, cfg: dict) -> Bastion:
    """The proxy container (the one publishing 80 and 443), its volumes and its nginx servers."""
    for path, unit in _quadlets(cfg):
        ports = {}
        for value in unit_values(unit, "Container", "PublishPort"):
            host, ctr, _ = container_ports(value)
            ports[host] = ctr
        if 80 in ports and 443 in ports:
            volumes = []
            for value in unit_values(unit, "Container", "Volume"):
                parts = value.split(":")
                if len(parts) >= 2 and parts[0].startswith("/"):
                    volumes.append((parts[0], parts[1]))
            bastion = Bastion(name, ports[80], ports[443], [], volumes)
            conf_dir = bastion.vm_path("/etc/nginx/conf.d").rstrip("/") + "/"
            files = sorted((f["path"], decode_source(f.get("contents")) or "")
                           for f in cfg.get("storage", {}).get("files", [])
                           if f.get("path", "").startswith(conf_dir) and f["path"].endswith(".conf"))
            for conf, text in files:
                try:
                    bastion.servers += servers(text)
                except ValueError as exc:
                    raise ConfigError(f"{name}: {conf}: {exc}") from None
            return bastion
    raise ConfigError(f"{name} runs no container that publishes ports 80 and 443")


# --- what to ask ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteCheck:
    name: str  # the row: "cells.ebisc.org https"
    scheme: str  # http | https
    host: str  # Host header and SNI
    kind: str  # backend | redirect | auth | acme
    path: str = "/"
    vm: str | None = None  # backend: the VM that must answer
    location: str | None = None  # redirect: the Location expected
    credentials: bool = False  # send the test's basic-auth credentials to sites that ask for them


def plan_sites(fleet_data: dict, bastion: Bastion, acme_token: str) -> list[SiteCheck]:
    """Every check, from fleet.yaml `sites`: each site over HTTP and HTTPS reaches its VM (with the
    test's credentials where the site asks for basic auth), the ACME path of every name is served from
    the web root, the aliases redirect to the IMS site, and the sites with basic auth ask for it.
    ConfigError (naming the YAML path) for a site whose VM has no `hosts` entry."""
    sites = fleet_data.get("sites") or {}
    hosts = fleet_data.get("hosts") or {}
    checks: list[SiteCheck] = []
    names = []
    for key, site in sites.items():
        if key == ALIASES_KEY:
            continue
        if key not in hosts:
            raise ConfigError(f"fleet.yaml sites.{key}: no hosts.{key} names the VM that serves {site}")
        names.append(site)
        auth = any(s.auth_file for s in bastion.servers if site in s.names)
        for scheme in ("http", "https"):
            checks.append(SiteCheck(f"{site} {scheme}", scheme, site, "backend", vm=key, credentials=auth))
        if auth:
            checks.append(SiteCheck(f"{site} asks for basic auth", "https", site, "auth"))
    aliases = str(sites.get(ALIASES_KEY) or "").split()
    canonical = sites.get(CANONICAL_KEY)
    for alias in aliases:
        names.append(alias)
        if canonical:
            checks.append(SiteCheck(f"{alias} https redirects", "https", alias, "redirect",
                                    location=f"https://{canonical}/"))
            checks.append(SiteCheck(f"{alias} http", "http", alias, "backend", vm=CANONICAL_KEY))
    for name in names:
        checks.append(SiteCheck(f"{name} ACME path", "http", name, "acme",
                                path=f"/.well-known/acme-challenge/{acme_token}"))
    return checks


def htpasswd_line(user: str, password: str, salt: bytes | None = None) -> str:
    """An htpasswd line nginx reads ({SSHA}: base64 of SHA-1(password + salt) + salt)."""
    salt = salt if salt is not None else os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


# --- asking --------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    certificate: bytes | None = None  # DER of the served leaf certificate (HTTPS)
    error: str = ""


class _SNIConnection(http.client.HTTPSConnection):
    def __init__(self, port: int, sni: str, timeout: float):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the bastion's own (self-signed) certificates; compared below
        super().__init__("127.0.0.1", port, timeout=timeout, context=ctx)
        self._sni = sni
        self.peer_certificate: bytes | None = None

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._sni)
        # Kept now: http.client drops the socket once a "Connection: close" answer is read.
        self.peer_certificate = self.sock.getpeercert(binary_form=True)


def fetch(ports: dict[str, int], scheme: str, host: str, path: str, auth: tuple[str, str] | None = None,
          timeout: float = 20.0) -> Answer:
    """One request to the bastion's forwarded port for `scheme` (127.0.0.1:ports[scheme]) with
    Host `host` (and SNI `host` over HTTPS). Errors become an Answer with status 0 and `error`."""
    conn = (_SNIConnection(ports["https"], host, timeout) if scheme == "https"
            else http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=timeout))
    headers = {"Host": host, "User-Agent": "stoker-fleet-test", "Connection": "close"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read(65536).decode("utf-8", "replace")
        cert = getattr(conn, "peer_certificate", None)
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, cert)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Answer(0, {}, "", error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


@dataclass
class Context:
    """What evaluating needs besides the answers."""
    ports: dict[str, int]  # scheme → forwarded host port of the bastion
    containers: dict[str, dict[str, str]]  # vm → {container id: "name (image)"}
    names: set[str]  # every site and alias: redirects may go to these, nothing else
    credentials: tuple[str, str] | None = None
    auth_sites: set[str] = field(default_factory=set)
    acme_body: str = ""
    certificates: dict[str, bytes] = field(default_factory=dict)  # site → DER the bastion should serve
    unread_certificates: dict[str, str] = field(default_factory=dict)  # site → why its DER is not known


Fetcher = type(fetch)


def who_answered(body: str, containers: dict[str, dict[str, str]]) -> tuple[str | None, str]:
    """(VM, description) of the container whose stand-in wrote `body`; (None, why) when none did."""
    m = ANSWER.search(body)
    if not m:
        return None, f"not a stand-in's answer: {body.strip()[:80]!r}"
    host = m["host"]
    for vm, running in containers.items():
        for cid, what in running.items():
            if len(host) >= 12 and cid.startswith(host) or host == what.split(" ")[0]:
                return vm, f"{what} on {vm}"
    return None, f"container {host} ({m['image']}) runs on no booted VM"


def _follow(check: SiteCheck, ctx: Context, fetcher, follow: bool) -> tuple[Answer, list[str]]:
    scheme, host, path = check.scheme, check.host, check.path
    chain: list[str] = []
    for _ in range(MAX_REDIRECTS + 1):
        auth = ctx.credentials if check.credentials and host in ctx.auth_sites else None
        answer = fetcher(ctx.ports, scheme, host, path, auth)
        chain.append(f"{scheme}://{host}{path} → {answer.status or answer.error}")
        location = answer.headers.get("location", "")
        if not follow or answer.status not in (301, 302, 303, 307, 308) or not location:
            return answer, chain
        url = urlsplit(location)
        if url.scheme not in ("http", "https") or url.hostname not in ctx.names:
            return answer, chain + [f"redirect out of the fleet: {location}"]
        scheme, host, path = url.scheme, url.hostname, (url.path or "/") + (f"?{url.query}" if url.query else "")
    return answer, chain + ["too many redirects"]


def evaluate(check: SiteCheck, ctx: Context, results: Results, fetcher=fetch) -> None:
    """Ask the bastion (following redirects within the fleet's names for a backend check) and add a row."""
    group = "site"
    if check.kind == "backend":
        answer, chain = _follow(check, ctx, fetcher, follow=True)
        expected = f"{check.vm} answers" + (" (with the test's credentials)" if check.credentials else "")
        if answer.status != 200:
            results.add(group, check.name, False, expected, " | ".join(chain))
            return
        vm, what = who_answered(answer.body, ctx.containers)
        seen = what + (f" via {' | '.join(chain[:-1])}" if len(chain) > 1 else "")
        ok = vm == check.vm
        host = urlsplit(chain[-1].split(" → ")[0]).hostname or check.host
        if ok and chain[-1].startswith("https://"):
            if host not in ctx.certificates:  # nothing to compare with: never passed unchecked
                why = ctx.unread_certificates.get(host, "the test did not read it")
                ok, seen = False, seen + f"; but the certificate of current/{host} was not compared: {why}"
            elif answer.certificate != ctx.certificates[host]:
                served = (f"sha256 {hashlib.sha256(answer.certificate).hexdigest()[:16]}"
                          if answer.certificate else "none")
                wanted = hashlib.sha256(ctx.certificates[host]).hexdigest()[:16]
                ok, seen = False, seen + (f"; but not the certificate of current/{host} "
                                          f"(served: {served}; current/{host}: sha256 {wanted})")
            else:
                seen += f"; certificate of current/{host}"
        results.add(group, check.name, ok, expected, seen)
    elif check.kind == "redirect":
        answer, chain = _follow(check, ctx, fetcher, follow=False)
        location = answer.headers.get("location", "")
        ok = answer.status in (301, 308) and location == check.location
        results.add(group, check.name, ok, f"301 to {check.location}",
                    f"{answer.status or answer.error} to {location or '(no Location)'}")
    elif check.kind == "auth":
        answer, _ = _follow(check, ctx, fetcher, follow=False)
        challenge = answer.headers.get("www-authenticate", "")
        ok = answer.status == 401 and challenge.lower().startswith("basic")
        results.add(group, check.name, ok, "401 with WWW-Authenticate: Basic (no credentials sent)",
                    f"{answer.status or answer.error} {challenge or '(no WWW-Authenticate)'}")
    elif check.kind == "acme":
        answer, _ = _follow(check, ctx, fetcher, follow=False)
        ok = answer.status == 200 and answer.body == ctx.acme_body
        seen = ("200, the token file's contents" if ok else
                f"{answer.status or answer.error}: {answer.body.strip()[:60]!r}")
        results.add(group, check.name, ok, "200 with the file the test put in the ACME web root", seen)
    else:
        raise ValueError(f"unknown site check kind {check.kind!r}")


def parse_podman_ps(text: str) -> dict[str, str]:
    """`podman ps --no-trunc --format '{{.ID}} {{.Names}} {{.Image}}'` → {id: "name (image)"}."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"[0-9a-f]{12,64}", parts[0]):
            out[parts[0]] = f"{parts[1]} ({parts[2]})"
    return out


PODMAN_PS = "podman ps --no-trunc --format '{{.ID}} {{.Names}} {{.Image}}'"


def first_certificate(pem: str) -> bytes | None:
    """DER of the first certificate in a PEM chain (fullchain.pem's leaf); None when there is none."""
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    return ssl.PEM_cert_to_DER_cert(m.group(0)) if m else None

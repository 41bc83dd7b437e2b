"""A small local OpenStack: the parts of Keystone v3, Nova, Cinder, Glance and
Neutron (networks, security groups and their rules) that stoker uses, served over HTTP on 127.0.0.1.

It is driven by the real openstacksdk (through a clouds.yaml that points at it)
and checks every request against the API's documented shape. A request that
breaks the documented shape is answered the way the real service would (400,
404, 406, 409, 413) and also recorded in `violations`, so a test can assert that
stoker never sent one. Faults (5xx, a server that never becomes ACTIVE, a
failing Ignition) are switched on per test.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_PREFIX = "gAAAAAfake"
PROJECT_ID = "0f4f3b1c8e2d4a6b9c7d5e3f1a2b4c6d"
USER_DATA_LIMIT = 65535  # Nova: base64 user_data is at most 65535 characters
MAX_BODY = 114688  # oslo.middleware sizelimit default; larger bodies get 413
RE_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _mv(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@dataclass
class Fault:
    method: str
    path_re: str
    status: int
    remaining: int
    body_key: str | None = None  # only requests whose JSON body has this key
    after: bool = False          # do the work, then answer with the error (a lost response)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: object
    microversion: str | None


@dataclass
class FakeCloud:
    """State and knobs; the HTTP handler below reads and changes it under `lock`."""

    port: int = 0
    max_microversion: str = "2.96"
    min_microversion: str = "2.1"
    build_polls: int = 2  # GETs of a building server before it is ACTIVE
    never_active: bool = False
    end_in_error: bool = False  # a build or rebuild ends in ERROR with a fault, as when the host fails
    ignition_outcome: str = "success"  # success | failure | silent
    console_polls: int = 1  # console reads before the Ignition verdict appears
    detach_on_rebuild: bool = False  # a cloud that loses attachments in a rebuild (never seen in Nova; stoker checks)
    # Every boot prints exactly the same lines (same timestamps, pids and final
    # login prompt), as two boots of one image on one host can: only where a boot
    # sits in the log tells it apart.
    identical_boots: bool = False
    # The cloud returns at most the last N lines of the log, whatever `length`
    # asks, as Nova returns at most its last 100 KiB (MAX_CONSOLE_BYTES).
    console_max_lines: int | None = None
    # A rebuild starts the log afresh, as Nova's libvirt driver does (it deletes
    # the instance directory, console.log included, with the old guest).
    fresh_console_on_rebuild: bool = False
    kernel_lines: bool = True  # False: the log has no kernel lines (no "Linux version" banner), as on some clouds
    identity_url: str | None = None  # where Keystone answers, when not at {base}/identity (see serve_identity)
    # Nova's answer to a rebuild whose user_data it rejects: 400 with its
    # validation message, which quotes the rejected value ("Invalid input for
    # field/attribute user_data. Value: <the base64>. ...", the jsonschema
    # validator in nova/api/validation/validators.py), so a client that prints
    # the error prints the config.
    reject_rebuild_user_data: bool = False
    servers: dict = field(default_factory=dict)
    volumes: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    flavors: dict = field(default_factory=dict)
    networks: dict = field(default_factory=dict)
    security_groups: dict = field(default_factory=dict)  # Neutron's, by id, each with its security_group_rules
    tokens: set = field(default_factory=set)
    listeners: list = field(default_factory=list)  # (server, timer, serving, open) of serve_identity
    requests: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        for name in ("fedora-coreos-stable", "fedora-coreos-next"):
            iid = str(uuid.uuid4())
            self.images[iid] = {"id": iid, "name": name, "status": "active",
                                "disk_format": "qcow2", "visibility": "public"}
        for name, ram, vcpus in (("m1.small", 2048, 1), ("m1.medium", 4096, 2), ("m1.large", 8192, 4)):
            fid = str(uuid.uuid4())
            self.flavors[fid] = {"id": fid, "name": name, "ram": ram, "vcpus": vcpus, "disk": 20}
        nid = str(uuid.uuid4())
        self.networks[nid] = {"id": nid, "name": "fleet-private", "status": "ACTIVE",
                              "subnets": [], "admin_state_up": True}
        # Neutron's "default" group: all egress, and ingress only from ports in the
        # same group (remote_group_id), for IPv4 and IPv6; no port is open to addresses.
        default = self.add_security_group("default")
        for ethertype in ("IPv4", "IPv6"):
            self.add_rule(default, direction="egress", ethertype=ethertype)
            self.add_rule(default, ethertype=ethertype, remote_group_id=default)
        web = self.add_security_group("internal-web")
        self.add_rule(web, protocol="tcp", port_range_min=8080, port_range_max=8080, remote_ip_prefix="10.0.0.0/8")
        public = self.add_security_group("public-web")
        for port in (80, 443):
            self.add_rule(public, protocol="tcp", port_range_min=port, port_range_max=port,
                          remote_ip_prefix="0.0.0.0/0")

    # -- helpers for tests ------------------------------------------------
    def fail_next(self, method: str, path_re: str, status: int, count: int = 1, body_key: str | None = None,
                  after: bool = False):
        self.faults.append(Fault(method, path_re, status, count, body_key, after))

    def calls(self, method: str | None = None, path_re: str = "") -> list[Request]:
        return [r for r in self.requests
                if (method is None or r.method == method) and re.search(path_re, r.path)]

    def mutating_calls(self) -> list[Request]:
        """Every request that could change the cloud (console reads excepted)."""
        out = []
        for r in self.requests:
            if r.method in ("GET", "HEAD") or r.path.endswith("/auth/tokens"):
                continue
            if isinstance(r.body, dict) and "os-getConsoleOutput" in r.body:
                continue
            out.append(r)
        return out

    def add_volume(self, name: str, size: int = 50, vid: str | None = None) -> str:
        vid = vid or str(uuid.uuid4())
        self.volumes[vid] = {"id": vid, "name": name, "size": size, "status": "available", "attachments": [],
                             "bootable": "false", "volume_type": "standard", "metadata": {}}
        return vid

    def add_hand_made_server(self, name: str, address: str, volumes=(), metadata: dict | None = None,
                             flavor: str = "m1.medium") -> str:
        """An ACTIVE server made by hand (or by the old tooling): no stoker metadata
        unless given, the fleet's image and network, `volumes` (ids) attached."""
        sid = str(uuid.uuid4())
        fid = next(f for f, v in self.flavors.items() if v["name"] == flavor)
        nid = next(iter(self.networks))
        now = "2024-05-01T12:00:00Z"
        self.servers[sid] = {
            "id": sid, "name": name, "status": "ACTIVE", "task_state": None, "polls": 0,
            "metadata": dict(metadata or {}), "image": self.image_id("fedora-coreos-stable"), "flavor": fid,
            "key_name": "legacy-admins", "address": address, "network_name": self.networks[nid]["name"],
            "security_groups": ["default"], "created": now, "updated": now, "user_data": None,
            "user_data_bytes": b"", "volumes": [], "console_reads": 0, "boots": 1}
        for vid in volumes:
            _do_attach(self, self.servers[sid], vid)
        return sid

    def detach(self, server: dict):
        for vid in server["volumes"]:
            self.volumes[vid].update(status="available", attachments=[])
        server["volumes"] = []

    def add_security_group(self, name: str) -> str:
        """A Neutron security group with no rules; returns its id."""
        gid = str(uuid.uuid4())
        self.security_groups[gid] = {"id": gid, "name": name, "description": "", "project_id": PROJECT_ID,
                                     "tenant_id": PROJECT_ID, "stateful": True, "security_group_rules": []}
        return gid

    def add_rule(self, group_id: str, direction: str = "ingress", ethertype: str = "IPv4", protocol=None,
                 port_range_min=None, port_range_max=None, remote_ip_prefix=None, remote_group_id=None) -> str:
        """A rule in the Networking API's shape: protocol None is any protocol,
        no port range is every port, no remote is any source."""
        rid = str(uuid.uuid4())
        self.security_groups[group_id]["security_group_rules"].append({
            "id": rid, "security_group_id": group_id, "direction": direction, "ethertype": ethertype,
            "protocol": protocol, "port_range_min": port_range_min, "port_range_max": port_range_max,
            "remote_ip_prefix": remote_ip_prefix, "remote_group_id": remote_group_id,
            "remote_address_group_id": None, "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "description": ""})
        return rid

    def group_id(self, name: str) -> str:
        return next(g for g, v in self.security_groups.items() if v["name"] == name)

    def image_id(self, name: str) -> str:
        return next(i for i, img in self.images.items() if img["name"] == name)

    def server_by_name(self, name: str) -> dict | None:
        found = [s for s in self.servers.values() if s["name"] == name]
        return found[0] if found else None

    def volume_by_name(self, name: str) -> dict | None:
        found = [v for v in self.volumes.values() if v["name"] == name]
        return found[0] if found else None

    def serve_identity(self, listen_after: float | None = None, reset_connections: int = 0) -> str:
        """Keystone on a port of its own, which becomes the auth URL and the
        catalog's identity endpoint; returns that URL. Until it listens
        (after `listen_after` seconds, at open_identity(), or never) the port
        is bound but not listening, so the kernel refuses every connection
        (RST: ECONNREFUSED). Once listening, it resets the first
        `reset_connections` connections it accepts without reading them, as a
        load balancer with no live backend does. close() stops it."""
        handler = type("BoundHandler", (Handler,), {"cloud": self})
        httpd = _ResettingServer(("127.0.0.1", 0), handler, bind_and_activate=False)
        httpd.daemon_threads, httpd.resets = True, reset_connections
        httpd.server_bind()
        serving = threading.Event()

        def open_now():
            if serving.is_set():
                return
            serving.set()
            httpd.server_activate()
            threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        timer = threading.Timer(listen_after or 0, open_now)
        timer.daemon = True
        if listen_after is not None:
            timer.start()
        self.listeners.append((httpd, timer, serving, open_now))
        self.identity_url = f"http://127.0.0.1:{httpd.server_address[1]}/identity"
        return self.identity_url

    def open_identity(self):
        """Start listening now on the ports of serve_identity."""
        for _, _, _, open_now in self.listeners:
            open_now()

    def close(self):
        """Stop what serve_identity started."""
        for httpd, timer, serving, _ in self.listeners:
            timer.cancel()
            if serving.is_set():
                httpd.shutdown()  # returns once serve_forever has seen the request to stop (poll 0.05 s)
            httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def clouds_yaml(self, name: str = "fake") -> str:
        return (
            "clouds:\n"
            f"  {name}:\n"
            "    auth:\n"
            f"      auth_url: {self.base}/identity\n"
            "      username: operator\n"
            "      password: not-a-real-secret\n"
            "      project_name: fleet\n"
            "      user_domain_name: Default\n"
            "      project_domain_name: Default\n"
            "    region_name: RegionOne\n"
            "    identity_api_version: 3\n"
        )


class _Reply(Exception):
    def __init__(self, status: int, body: object = None, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _bad(cloud: FakeCloud, message: str, status: int = 400, kind: str = "badRequest"):
    cloud.violations.append(message)
    raise _Reply(status, {kind: {"code": status, "message": message}})


def _conflict(message: str):
    raise _Reply(409, {"conflictingRequest": {"code": 409, "message": message}})


def _not_found(what: str):
    raise _Reply(404, {"itemNotFound": {"code": 404, "message": f"{what} could not be found."}})


class Handler(BaseHTTPRequestHandler):
    cloud: FakeCloud  # set on the subclass made by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def setup(self):
        super().setup()
        # headers and body go out in two writes; without this, delayed ACKs cost 40 ms a request
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self):
        cloud = self.cloud
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<not json>"
        microversion = None
        header = self.headers.get("OpenStack-API-Version")
        if header and header.split()[0] == "compute":
            microversion = header.split()[1]
        with cloud.lock:
            cloud.requests.append(Request(self.command, path, query, body, microversion))
            try:
                if len(raw) > MAX_BODY:
                    raise _Reply(413, {"overLimit": {"code": 413, "message": "Request is too large."}})
                fault = next((f for f in cloud.faults if f.remaining > 0 and f.method == self.command
                              and re.search(f.path_re, path)
                              and (f.body_key is None or (isinstance(body, dict) and f.body_key in body))), None)
                if fault is not None:
                    fault.remaining -= 1
                    if fault.status == 0:  # a dropped connection: no answer at all
                        self.close_connection = True
                        self.request.shutdown(socket.SHUT_RDWR)
                        return
                    if fault.after:
                        route(cloud, self.command, path, query, body, self.headers)
                    raise _Reply(fault.status, {"computeFault": {"code": fault.status, "message": "injected fault"}})
                status, payload, headers = route(cloud, self.command, path, query, body, self.headers)
            except _Reply as reply:
                status, payload, headers = reply.status, reply.body, reply.headers
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


def route(cloud: FakeCloud, method: str, path: str, query: dict, body, headers):
    if path.startswith("/identity"):
        return identity(cloud, method, path[len("/identity"):] or "/", body)
    if cloud.tokens and headers.get("X-Auth-Token") not in cloud.tokens:
        raise _Reply(401, {"error": {"code": 401, "message": "The request you have made requires authentication."}})
    if not cloud.tokens:
        raise _Reply(401, {"error": {"code": 401, "message": "No token issued yet."}})
    for prefix, handler in (("/compute", compute), ("/volume", volume), ("/image", image), ("/network", network)):
        if path.startswith(prefix):
            return handler(cloud, method, path[len(prefix):] or "/", query, body, headers)
    _not_found(path)


# -- Keystone v3 ---------------------------------------------------------------

def identity(cloud: FakeCloud, method: str, path: str, body):
    base = cloud.identity_url or f"{cloud.base}/identity"
    v3 = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
          "links": [{"rel": "self", "href": f"{base}/v3/"}],
          "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}
    if method == "GET" and path == "/":
        return 300, {"versions": {"values": [v3]}}, {}
    if method == "GET" and path == "/v3":
        return 200, {"version": v3}, {}
    if method == "POST" and path == "/v3/auth/tokens":
        try:
            ident = body["auth"]["identity"]
            assert ident["methods"] == ["password"]
            user = ident["password"]["user"]
            assert user["name"] and user["password"] and (user.get("domain") or {}).get("name")
            project = body["auth"]["scope"]["project"]
            assert project["name"] == "fleet" and project["domain"]["name"]
        except (KeyError, TypeError, AssertionError):
            _bad(cloud, "token request does not match POST /v3/auth/tokens (password method, project scope)")
        if user["password"] != "not-a-real-secret":
            raise _Reply(401, {"error": {"code": 401, "message": "The request you have made requires authentication."}})
        token = f"{TOKEN_PREFIX}{uuid.uuid4().hex}"
        cloud.tokens.add(token)
        catalog = [
            _service("identity", "keystone", f"{base}/v3/"),
            _service("compute", "nova", f"{cloud.base}/compute/v2.1"),
            _service("block-storage", "cinderv3", f"{cloud.base}/volume/v3/{PROJECT_ID}"),
            _service("image", "glance", f"{cloud.base}/image"),
            _service("network", "neutron", f"{cloud.base}/network"),
        ]
        token_body = {"token": {
            "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2026-01-01T00:00:00.000000Z", "audit_ids": ["fake"],
            "user": {"id": "u1", "name": user["name"], "domain": {"id": "default", "name": "Default"}},
            "project": {"id": PROJECT_ID, "name": "fleet", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r1", "name": "member"}], "catalog": catalog}}
        return 201, token_body, {"X-Subject-Token": token}
    _not_found(path)


def _service(kind: str, name: str, url: str) -> dict:
    return {"type": kind, "name": name, "id": uuid.uuid4().hex,
            "endpoints": [{"id": uuid.uuid4().hex, "interface": iface, "region": "RegionOne",
                           "region_id": "RegionOne", "url": url} for iface in ("public", "internal")]}


# -- Nova ----------------------------------------------------------------------

def compute(cloud: FakeCloud, method, path, query, body, headers):
    if method == "GET" and path in ("/", "/v2.1"):
        version = {"id": "v2.1", "status": "CURRENT", "version": cloud.max_microversion,
                   "min_version": cloud.min_microversion, "updated": "2013-07-23T11:33:21Z",
                   "links": [{"rel": "self", "href": f"{cloud.base}/compute/v2.1/"}]}
        return (200, {"version": version}, {}) if path == "/v2.1" else (300, {"versions": [version]}, {})
    if not path.startswith("/v2.1/"):
        _not_found(path)
    mv = _check_microversion(cloud, headers)
    path = path[len("/v2.1"):]
    if path in ("/flavors", "/flavors/detail"):
        return 200, {"flavors": list(cloud.flavors.values())}, {}
    if m := re.fullmatch(r"/flavors/([^/]+)", path):
        if m[1] in cloud.flavors:
            return 200, {"flavor": cloud.flavors[m[1]]}, {}
        _not_found(f"Flavor {m[1]}")
    if path in ("/servers", "/servers/detail") and method == "GET":
        found = [s for s in cloud.servers.values() if re.search(query.get("name", ""), s["name"])]
        return 200, {"servers": [_server_view(cloud, s, mv) for s in found]}, {}
    if path == "/servers" and method == "POST":
        return create_server(cloud, body, mv)
    m = re.fullmatch(r"/servers/([^/]+)(/.*)?", path)
    if not m:
        _not_found(path)
    server = cloud.servers.get(m[1])
    if server is None:
        _not_found(f"Instance {m[1]}")
    rest = m[2] or ""
    if rest == "" and method == "GET":
        _advance(cloud, server)
        return 200, {"server": _server_view(cloud, server, mv)}, {}
    if rest == "" and method == "DELETE":
        cloud.violations.append(f"server {server['id']} deleted")
        for vid in server["volumes"]:
            cloud.volumes[vid].update(status="available", attachments=[])
        del cloud.servers[server["id"]]
        return 204, None, {}
    if rest == "/action" and method == "POST":
        return server_action(cloud, server, body, mv)
    if rest == "/metadata":
        if method == "GET":
            return 200, {"metadata": server["metadata"]}, {}
        if method in ("POST", "PUT"):
            meta = _check_metadata(cloud, (body or {}).get("metadata") if isinstance(body, dict) else None)
            if method == "PUT":
                server["metadata"] = dict(meta)
            else:
                server["metadata"].update(meta)
            return 200, {"metadata": server["metadata"]}, {}
    item = re.fullmatch(r"/metadata/([^/]+)", rest)
    if item and method == "DELETE":  # Compute API: delete one metadata item; 404 when it is not there
        if item[1] not in server["metadata"]:
            _not_found(f"Metadata item {item[1]} of instance {server['id']}")
        del server["metadata"][item[1]]
        return 204, None, {}
    if rest == "/os-volume_attachments":
        if method == "GET":
            return 200, {"volumeAttachments": [_attachment(server, vid) for vid in server["volumes"]]}, {}
        if method == "POST":
            return attach_volume(cloud, server, body)
    _not_found(path)


def _check_microversion(cloud: FakeCloud, headers) -> tuple[int, int]:
    header = headers.get("OpenStack-API-Version")
    if header is None:
        return (2, 1)
    parts = header.split()
    if len(parts) != 2 or parts[0] != "compute":
        _bad(cloud, f"bad OpenStack-API-Version header {header!r}")
    if parts[1] == "latest":
        return _mv(cloud.max_microversion)
    want = _mv(parts[1])
    if not _mv(cloud.min_microversion) <= want <= _mv(cloud.max_microversion):
        _bad(cloud, f"Version {parts[1]} is not supported by the API.", 406, "computeFault")
    legacy = headers.get("X-OpenStack-Nova-API-Version")
    if legacy and legacy != parts[1]:
        _bad(cloud, "the two microversion headers disagree")
    return want


def _check_user_data(cloud: FakeCloud, value) -> bytes:
    if not isinstance(value, str):
        _bad(cloud, "Invalid input for field/attribute user_data. Value is not a string.")
    if len(value) > USER_DATA_LIMIT:
        _bad(cloud, f"Invalid input for field/attribute user_data. Value: {len(value)} characters is too long.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        _bad(cloud, "Invalid input for field/attribute user_data. Value is not base64.")


def _check_metadata(cloud: FakeCloud, meta) -> dict:
    if not isinstance(meta, dict):
        _bad(cloud, "metadata must be an object")
    for k, v in meta.items():
        if not isinstance(v, str) or not 1 <= len(k) <= 255 or len(v) > 255:
            _bad(cloud, f"metadata item {k!r} must be a string of at most 255 characters")
    return meta


def _advance(cloud: FakeCloud, server: dict):
    if server["status"] in ("BUILD", "REBUILD") and not cloud.never_active:
        server["polls"] -= 1
        if server["polls"] <= 0 and cloud.end_in_error:
            server.update(status="ERROR", task_state=None,
                          fault={"code": 500, "message": "No valid host was found.", "created": server["created"]})
        elif server["polls"] <= 0:
            server["status"] = "ACTIVE"
            server["task_state"] = None
            server["console_reads"] = 0


def _server_view(cloud: FakeCloud, s: dict, mv) -> dict:
    view = {
        "id": s["id"], "name": s["name"], "status": s["status"], "tenant_id": PROJECT_ID, "user_id": "u1",
        "metadata": s["metadata"], "image": {"id": s["image"]}, "key_name": s["key_name"],
        "flavor": {"id": s["flavor"]} if mv < (2, 47) else {"original_name": cloud.flavors[s["flavor"]]["name"]},
        "addresses": {s["network_name"]: [{"addr": s["address"], "version": 4, "OS-EXT-IPS:type": "fixed"}]},
        "security_groups": [{"name": g} for g in s["security_groups"]],
        "created": s["created"], "updated": s["updated"], "hostId": "h1",
        "OS-EXT-STS:task_state": s["task_state"], "OS-EXT-STS:vm_state": s["status"].lower(),
        "os-extended-volumes:volumes_attached": [{"id": v, "delete_on_termination": False} for v in s["volumes"]],
        "links": [{"rel": "self", "href": f"{cloud.base}/compute/v2.1/servers/{s['id']}"}],
    }
    if mv >= (2, 3):
        view["OS-EXT-SRV-ATTR:user_data"] = s["user_data"]
    if s["status"] == "ERROR" and s.get("fault"):
        view["fault"] = s["fault"]
    return view


def create_server(cloud: FakeCloud, body, mv):
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        _bad(cloud, "POST /servers needs a 'server' object")
    req = body["server"]
    for key in ("name", "flavorRef", "imageRef", "networks"):
        if key not in req:
            _bad(cloud, f"POST /servers: '{key}' is a required property")
    known = {"name", "flavorRef", "imageRef", "networks", "security_groups", "key_name", "user_data",
             "metadata", "block_device_mapping_v2", "config_drive", "availability_zone", "description"}
    if extra := set(req) - known:
        _bad(cloud, f"POST /servers: additional properties are not allowed ({sorted(extra)})")
    if req["flavorRef"] not in cloud.flavors:
        _bad(cloud, f"Flavor {req['flavorRef']} could not be found.")
    if req["imageRef"] not in cloud.images:
        _bad(cloud, f"Image {req['imageRef']} could not be found.")
    nets = req["networks"]
    if not (isinstance(nets, list) and len(nets) == 1 and isinstance(nets[0], dict) and nets[0].get("uuid") in cloud.networks):
        _bad(cloud, "POST /servers: networks must be [{'uuid': <network id>, 'fixed_ip': <address>}]")
    address = nets[0].get("fixed_ip")
    if address is not None and not RE_IPV4.match(address):
        _bad(cloud, f"Invalid fixed IP address {address!r}")
    if any(s["address"] == address for s in cloud.servers.values()):
        _conflict(f"Fixed IP address {address} is already in use on instance")
    groups = req.get("security_groups", [])
    if not all(isinstance(g, dict) and set(g) == {"name"} for g in groups):
        _bad(cloud, "security_groups must be a list of {'name': ...}")
    user_data = _check_user_data(cloud, req["user_data"]) if "user_data" in req else b""
    meta = _check_metadata(cloud, req.get("metadata", {}))
    volumes = []
    for bdm in req.get("block_device_mapping_v2", []):
        if bdm.get("source_type") != "volume" or bdm.get("destination_type") != "volume":
            _bad(cloud, "block_device_mapping_v2: only source_type=volume, destination_type=volume expected")
        vol = cloud.volumes.get(bdm.get("uuid"))
        if vol is None:
            _bad(cloud, f"Volume {bdm.get('uuid')} could not be found.")
        if vol["status"] != "available":
            _bad(cloud, f"Volume {vol['id']} status must be available, but is {vol['status']}")
        if bdm.get("boot_index") not in (None, -1):
            _bad(cloud, "the data volume must not be a boot device")
        volumes.append(vol["id"])
    sid = str(uuid.uuid4())
    now = "2026-01-01T00:00:00Z"
    server = {"id": sid, "name": req["name"], "status": "BUILD", "task_state": "spawning",
              "polls": cloud.build_polls, "metadata": dict(meta), "image": req["imageRef"],
              "flavor": req["flavorRef"], "key_name": req.get("key_name"), "address": address or "10.0.0.99",
              "network_name": cloud.networks[nets[0]["uuid"]]["name"],
              "security_groups": [g["name"] for g in groups] or ["default"], "created": now, "updated": now,
              "user_data": req.get("user_data"), "user_data_bytes": user_data, "volumes": [],
              "console_reads": 0, "boots": 1}
    cloud.servers[sid] = server
    for vid in volumes:
        _do_attach(cloud, server, vid)
    return 202, {"server": {"id": sid, "links": [{"rel": "self", "href": f"{cloud.base}/compute/v2.1/servers/{sid}"}],
                            "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": g} for g in server["security_groups"]],
                            "adminPass": "fake-admin-pass"}}, {}


def server_action(cloud: FakeCloud, server: dict, body, mv):
    if not isinstance(body, dict) or len(body) != 1:
        _bad(cloud, "a server action body has exactly one key")
    (action, args), = body.items()
    if action == "rebuild":
        if not isinstance(args, dict) or "imageRef" not in args:
            _bad(cloud, "rebuild: 'imageRef' is a required property")
        if "user_data" in args and mv < (2, 57):
            _bad(cloud, "rebuild: additional properties are not allowed ('user_data' was unexpected)")
        if "user_data" in args and cloud.reject_rebuild_user_data:
            raise _Reply(400, {"badRequest": {"code": 400, "message": (
                f"Invalid input for field/attribute user_data. Value: {args['user_data']}. "
                "'user_data' is not a 'base64'")}})
        if args["imageRef"] not in cloud.images:
            _bad(cloud, f"Image {args['imageRef']} could not be found.")
        if server["status"] not in ("ACTIVE", "SHUTOFF", "ERROR"):
            _conflict(f"Cannot 'rebuild' instance {server['id']} while it is in vm_state {server['status'].lower()}")
        if "user_data" in args:
            server["user_data_bytes"] = _check_user_data(cloud, args["user_data"]) if args["user_data"] is not None else b""
            server["user_data"] = args["user_data"]
        if "metadata" in args:
            server["metadata"] = dict(_check_metadata(cloud, args["metadata"]))
        server["console_history"] = [] if cloud.fresh_console_on_rebuild else _console(cloud, server)
        if cloud.detach_on_rebuild:
            cloud.detach(server)
        server.update(status="REBUILD", task_state="rebuilding", polls=cloud.build_polls, image=args["imageRef"],
                      console_reads=0, verdict_lines=None)
        server["boots"] += 1
        return 202, {"server": _server_view(cloud, server, mv)}, {}
    if action == "os-getConsoleOutput":
        if not isinstance(args, dict) or set(args) - {"length"}:
            _bad(cloud, "os-getConsoleOutput takes only 'length'")
        length = args.get("length")
        if length is not None and not (isinstance(length, int) and length >= -1):
            _bad(cloud, "os-getConsoleOutput: length must be an integer >= -1")
        if server["status"] == "BUILD":
            _conflict(f"Instance {server['id']} is not ready")
        lines = _console(cloud, server)
        if cloud.console_max_lines is not None:
            lines = lines[-cloud.console_max_lines:]
        if length not in (None, -1):
            lines = lines[-length:] if length else []
        return 200, {"output": "".join(line + "\n" for line in lines)}, {}
    if action in ("addSecurityGroup", "removeSecurityGroup"):
        # Compute API: {"addSecurityGroup": {"name": NAME}}; 404 for an unknown
        # group, 400 when it is already there (add) or not there (remove).
        if not isinstance(args, dict) or set(args) != {"name"} or not isinstance(args["name"], str):
            _bad(cloud, f"{action} takes exactly {{'name': <security group name>}}")
        found = [g["name"] for g in cloud.security_groups.values() if args["name"] in (g["name"], g["id"])]
        if not found:
            raise _Reply(404, {"itemNotFound": {"code": 404, "message": f"Security group {args['name']} not found."}})
        name = found[0]
        if action == "addSecurityGroup":
            if name in server["security_groups"]:
                raise _Reply(400, {"badRequest": {"code": 400, "message":
                                   f"Security group {name} is already associated with the instance {server['id']}"}})
            server["security_groups"].append(name)
        else:
            if name not in server["security_groups"]:
                raise _Reply(400, {"badRequest": {"code": 400, "message":
                                   f"Security group {name} not associated with the instance {server['id']}"}})
            server["security_groups"].remove(name)
        return 202, None, {}
    _bad(cloud, f"action {action!r} is not implemented by the fake")


def _console(cloud: FakeCloud, server: dict) -> list[str]:
    """Like libvirt's console log, earlier boots stay in the log: a rebuild
    appends (unless fresh_console_on_rebuild)."""
    lines = list(server.get("console_history", []))
    boot = 1 if cloud.identical_boots else server["boots"]
    if cloud.kernel_lines:
        lines += [f"[    0.000000] Linux version 6.11.0-200.fc41.x86_64 (boot {boot})"]
    lines += [f"[    2.1{boot:05d}] ignition[{600 + boot}]: Ignition 2.20.0",
              f"[    2.2{boot:05d}] ignition[{600 + boot}]: Stage: fetch"]
    if server["status"] != "ACTIVE":
        return lines
    if server.get("verdict_lines"):  # what a boot printed stays in the log, whatever the knobs say now
        return lines + server["verdict_lines"]
    server["console_reads"] += 1
    if server["console_reads"] <= cloud.console_polls:
        return lines
    verdict = []
    if cloud.ignition_outcome == "success":
        verdict = ["[    4.500000] ignition[733]: Ignition finished successfully",
                   "[  OK  ] Reached target ignition-complete.target - Ignition Complete.",
                   "Fedora CoreOS 41", "Kernel 6.11.0-200.fc41.x86_64 on an x86_64 (ttyS0)"]
        if cloud.identical_boots:
            verdict += [f"{server['name']} login: "]
    elif cloud.ignition_outcome == "failure":
        verdict = ["[    3.900000] ignition[700]: disks: createFilesystems: op(1): [failed]   creating filesystem",
                   "[FAILED] Failed to start ignition-disks.service - Ignition (disks).",
                   "Ignition has failed. Please ensure your config is valid."]
    server["verdict_lines"] = verdict
    return lines + verdict


def _attachment(server: dict, vid: str) -> dict:
    return {"id": vid, "volumeId": vid, "serverId": server["id"], "device": "/dev/vdb"}


def _do_attach(cloud: FakeCloud, server: dict, vid: str):
    server["volumes"].append(vid)
    cloud.volumes[vid].update(status="in-use", attachments=[{"server_id": server["id"], "attachment_id": vid,
                                                              "volume_id": vid, "device": "/dev/vdb"}])


def attach_volume(cloud: FakeCloud, server: dict, body):
    try:
        vid = body["volumeAttachment"]["volumeId"]
    except (KeyError, TypeError):
        _bad(cloud, "POST os-volume_attachments needs {'volumeAttachment': {'volumeId': ...}}")
    vol = cloud.volumes.get(vid)
    if vol is None:
        _not_found(f"Volume {vid}")
    if server["status"] not in ("ACTIVE", "SHUTOFF"):
        _conflict(f"Cannot 'attach_volume' instance {server['id']} while it is in vm_state {server['status'].lower()}")
    if vol["status"] != "available":
        _bad(cloud, f"Invalid volume: volume {vid} status must be available")
    _do_attach(cloud, server, vid)
    return 200, {"volumeAttachment": _attachment(server, vid)}, {}


# -- Cinder --------------------------------------------------------------------

def volume(cloud: FakeCloud, method, path, query, body, headers):
    version = {"id": "v3.0", "status": "CURRENT", "version": "3.70", "min_version": "3.0",
               "updated": "2023-01-01T00:00:00Z", "links": [{"rel": "self", "href": f"{cloud.base}/volume/v3/"}]}
    if method == "GET" and path == "/":
        return 300, {"versions": [version]}, {}
    if method == "GET" and path == "/v3":
        return 200, {"version": version}, {}
    prefix = f"/v3/{PROJECT_ID}"
    if not path.startswith(prefix):
        _not_found(path)
    path = path[len(prefix):]
    if path in ("/volumes", "/volumes/detail") and method == "GET":
        found = [v for v in cloud.volumes.values() if query.get("name") in (None, v["name"])]
        return 200, {"volumes": found}, {}
    if path == "/volumes" and method == "POST":
        req = (body or {}).get("volume") if isinstance(body, dict) else None
        if not isinstance(req, dict) or not isinstance(req.get("size"), int) or req["size"] < 1:
            _bad(cloud, "POST /volumes needs {'volume': {'size': <GiB>, ...}}")
        vid = str(uuid.uuid4())
        cloud.volumes[vid] = {"id": vid, "name": req.get("name"), "size": req["size"], "status": "available",
                              "attachments": [], "bootable": "false", "volume_type": "standard",
                              "metadata": req.get("metadata", {})}
        return 202, {"volume": cloud.volumes[vid]}, {}
    if m := re.fullmatch(r"/volumes/([^/]+)", path):
        vol = cloud.volumes.get(m[1])
        if vol is None:
            _not_found(f"Volume {m[1]}")
        if method == "GET":
            return 200, {"volume": vol}, {}
        if method == "DELETE":
            cloud.violations.append(f"volume {vol['id']} deleted")
            _bad(cloud, "stoker must never delete a volume")
    _not_found(path)


# -- Glance and Neutron: name lookups only -------------------------------------

def image(cloud: FakeCloud, method, path, query, body, headers):
    if method == "GET" and path in ("/", "/v2"):
        versions = [{"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": f"{cloud.base}/image/v2/"}]}]
        return 300 if path == "/" else 200, {"versions": versions}, {}
    if method == "GET" and path == "/v2/images":
        found = [i for i in cloud.images.values() if query.get("name") in (None, i["name"])]
        return 200, {"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"}, {}
    if m := re.fullmatch(r"/v2/images/([^/]+)", path):
        if m[1] in cloud.images:
            return 200, cloud.images[m[1]], {}
        _not_found(f"Image {m[1]}")
    _not_found(path)


def network(cloud: FakeCloud, method, path, query, body, headers):
    if method == "GET" and path == "/":
        versions = [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{cloud.base}/network/v2.0/"}]}]
        return 200, {"versions": versions}, {}
    if method == "GET" and path == "/v2.0/networks":
        found = [n for n in cloud.networks.values() if query.get("name") in (None, n["name"])]
        return 200, {"networks": found}, {}
    if m := re.fullmatch(r"/v2.0/networks/([^/]+)", path):
        if m[1] in cloud.networks:
            return 200, {"network": cloud.networks[m[1]]}, {}
        _not_found(f"Network {m[1]}")
    # Security groups (Networking API: GET /v2.0/security-groups embeds each
    # group's security_group_rules; filters by field value).
    if method == "GET" and path == "/v2.0/security-groups":
        found = [g for g in cloud.security_groups.values()
                 if all(g.get(k) == v for k, v in query.items() if k in ("name", "id", "project_id"))]
        return 200, {"security_groups": found}, {}
    if m := re.fullmatch(r"/v2.0/security-groups/([^/]+)", path):
        if method == "GET" and m[1] in cloud.security_groups:
            return 200, {"security_group": cloud.security_groups[m[1]]}, {}
        raise _Reply(404, {"NeutronError": {"type": "SecurityGroupNotFound", "detail": "",
                                            "message": f"Security group {m[1]} does not exist"}})
    if method == "GET" and path == "/v2.0/security-group-rules":
        rules = [r for g in cloud.security_groups.values() for r in g["security_group_rules"]
                 if query.get("security_group_id") in (None, r["security_group_id"])]
        return 200, {"security_group_rules": rules}, {}
    _not_found(path)


class _ResettingServer(ThreadingHTTPServer):
    resets = 0  # connections still to reset

    def verify_request(self, request, client_address) -> bool:
        if self.resets <= 0:
            return True
        self.resets -= 1
        # linger on, timeout 0: close() sends RST instead of FIN
        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False  # the server then closes the socket unread


def serve() -> tuple[FakeCloud, ThreadingHTTPServer]:
    cloud = FakeCloud()
    handler = type("BoundHandler", (Handler,), {"cloud": cloud})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    cloud.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return cloud, httpd


if __name__ == "__main__":  # a local cloud to try stoker against: prints the clouds.yaml to use
    import os
    import sys
    import tempfile
    import time
    cloud, httpd = serve()
    # fleet.yaml's bastion placement also names an "ssh" group (the tests add groups as they need them)
    cloud.add_rule(cloud.add_security_group("ssh"), protocol="tcp", port_range_min=22, port_range_max=22,
                   remote_ip_prefix="0.0.0.0/0")
    name = sys.argv[1] if len(sys.argv) > 1 else "fleet"
    path = os.path.join(tempfile.mkdtemp(prefix="fake-openstack-"), "clouds.yaml")
    with open(path, "w") as fh:
        fh.write(cloud.clouds_yaml(name))
    print(f"export OS_CLIENT_CONFIG_FILE={path}   # cloud {name!r} at {cloud.base}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        httpd.shutdown()

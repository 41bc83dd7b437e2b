"""What a stand-in image is, as data: packages, accounts, files, image config and its contract.

A `StandIn` replaces one image of the fleet's registry in the boot test. Its
`Contract` is what the fleet relies on from the real image: the user id it
runs as, the ports it listens on, the paths it writes, the environment
variables it reads (required ones fail loudly when missing), the hosts it
needs, per mode (the default command and each extra command the fleet's
`command:` keys call). The contract is baked into the image as JSON for the
generic stand-in program (program.py) and checked against vms/*.yaml by the
tests. `key()` hashes all of it, so any change gives a new cache entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Bump when the builder's steps change in a way the declarations do not show.
BUILDER_VERSION = 1

FILES_DIR = Path(__file__).parent  # File.source is relative to this package

# Where every stand-in keeps the stand-in program and its contract (see program.py).
PROGRAM_DIR = "/usr/local/lib/stoker-standin"
PROGRAM_PATH = f"{PROGRAM_DIR}/standin.py"
PROGRAM_LINK = "/usr/local/bin/stoker-standin"
CONTRACT_PATH = "/usr/share/stoker-standin/contract.json"

KINDS = ("serve", "job", "program")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IMAGE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[\w][\w.-]{0,127}", re.ASCII)


@dataclass(frozen=True)
class Account:
    """A user and its group, with fixed ids, made before any package is installed."""
    name: str
    uid: int
    gid: int
    group: str = ""  # default: the user's name
    home: str = "/nonexistent"
    shell: str = "/usr/sbin/nologin"
    gecos: str = ""

    @property
    def group_name(self) -> str:
        return self.group or self.name


@dataclass(frozen=True)
class File:
    """A file of the image: `text` inline, or `source`, a file of this package (e.g. files/nginx.conf)."""
    path: str
    text: str | None = None
    source: str | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0

    def data(self) -> bytes:
        if self.text is not None:
            return self.text.encode()
        if self.source is None:
            raise ValueError(f"{self.path}: neither text nor source")
        return (FILES_DIR / self.source).read_bytes()


@dataclass(frozen=True)
class Dir:
    path: str
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Link:
    """A symbolic link `path` -> `target`."""
    path: str
    target: str


@dataclass(frozen=True)
class Need:
    """A TCP service a mode needs: `host` is a name, or "$VAR" for the value of the variable VAR."""
    host: str
    port: int


@dataclass(frozen=True)
class S3:
    """An S3 transfer a job does: put a new object under, or get the newest object from, the prefix.

    `endpoint_env` holds the endpoint URL (http(s)://host[:port], or WAL-E's
    https+path://host:port), `prefix_env` an s3://bucket/path prefix.
    Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    """
    endpoint_env: str
    prefix_env: str
    action: str  # "put" | "get"


@dataclass(frozen=True)
class Produce:
    """A file a job writes (relative to nothing: an absolute path in the container)."""
    path: str
    text: str


@dataclass(frozen=True)
class Mode:
    """One way the image runs: its default command or a command the fleet calls.

    kind: "serve" (the generic program listens on `ports` until stopped),
    "job" (the generic program does its work and exits 0/1), "program" (a
    real program does it; the generic program only checks uid and env first).
    """
    name: str
    kind: str
    description: str = ""
    env_required: tuple[str, ...] = ()
    env_optional: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    writes: tuple[str, ...] = ()
    needs: tuple[Need, ...] = ()
    wait_seconds: int = 300  # for the needed hosts; generous, as services start slowly under QEMU's TCG
    s3: S3 | None = None
    produce: tuple[Produce, ...] = ()


@dataclass(frozen=True)
class Contract:
    """What the fleet relies on: runs as `uid` (None: the fleet states none), its modes."""
    uid: int | None
    user: str | None
    modes: tuple[Mode, ...]
    default: str

    def mode(self, name: str) -> Mode | None:
        return next((m for m in self.modes if m.name == name), None)


@dataclass(frozen=True)
class StandIn:
    """One stand-in image; `image` is name:tag relative to the fleet's registry."""
    image: str
    stands_for: str  # the real image and where its contract comes from
    contract: Contract
    packages: tuple[str, ...] = ()
    dpkg_exclude: tuple[str, ...] = ()  # globs of package files left out (each declaration says why)
    accounts: tuple[Account, ...] = ()
    files: tuple[File, ...] = ()
    dirs: tuple[Dir, ...] = ()
    links: tuple[Link, ...] = ()
    remove: tuple[str, ...] = ()  # globs (fnmatch, "*" crosses "/") of paths left out of the image
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    workdir: str = "/"
    user: str = ""  # the image config's User ("" = root)
    stop_signal: str = ""
    commands: tuple[str, ...] = ()  # extra commands on PATH, each a mode of the contract

    @property
    def name(self) -> str:
        return self.image.rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.image.rsplit(":", 1)[1]

    @property
    def slug(self) -> str:
        """A file-name-safe name: centos/mongodb-32-centos7:latest -> centos-mongodb-32-centos7-latest."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.image)

    def ports(self) -> tuple[int, ...]:
        return tuple(sorted({p for m in self.contract.modes for p in m.ports}))

    def key(self, base_key: str) -> str:
        """16 hex digits: the declaration (file contents included), the base's key, BUILDER_VERSION."""
        return _hash({"standin": _plain(self), "files": {f.path: _sha(f.data()) for f in self.files},
                      "base": base_key, "builder": BUILDER_VERSION})


@dataclass(frozen=True)
class Base:
    """The layer every stand-in shares: Debian's Essential set, `packages`, and the stand-in program."""
    suite: str
    variant: str
    packages: tuple[str, ...]
    # dpkg --path-exclude/--path-include rules, in order, the last match wins (dpkg(1))
    path_filter: tuple[tuple[str, str], ...]
    # paths never in any layer: device nodes (the runtime makes /dev), files the host leaks in
    drop: tuple[str, ...]
    files: tuple[File, ...] = ()
    links: tuple[Link, ...] = ()
    epoch: int = 1735689600  # SOURCE_DATE_EPOCH: file times and image dates (2025-01-01)
    extra: dict = field(default_factory=dict)

    def key(self) -> str:
        return _hash({"base": _plain(self), "files": {f.path: _sha(f.data()) for f in self.files},
                      "builder": BUILDER_VERSION})


def contract_document(s: StandIn, registry: str | None = None) -> dict:
    """The contract as the image carries it (CONTRACT_PATH), a JSON-ready dict."""
    c = s.contract
    modes = {}
    for m in c.modes:
        modes[m.name] = {
            "kind": m.kind, "description": m.description,
            "env": {"required": list(m.env_required), "optional": list(m.env_optional)},
            "ports": list(m.ports), "writes": list(m.writes),
            "needs": [{"host": n.host, "port": n.port} for n in m.needs],
            "wait_seconds": m.wait_seconds,
            "s3": None if m.s3 is None else {"endpoint_env": m.s3.endpoint_env, "prefix_env": m.s3.prefix_env,
                                             "action": m.s3.action},
            "produce": [{"path": p.path, "text": p.text} for p in m.produce],
        }
    return {
        "image": s.image,
        "reference": f"{registry.rstrip('/')}/{s.image}" if registry else s.image,
        "stands_for": s.stands_for,
        "user": None if c.uid is None else {"name": c.user, "uid": c.uid},
        "default": c.default,
        "modes": modes,
    }


def contract_json(s: StandIn, registry: str | None = None) -> str:
    return json.dumps(contract_document(s, registry), indent=2, sort_keys=True) + "\n"


def problems(s: StandIn) -> list[str]:
    """Everything inconsistent in a declaration, as messages; [] when it can be built."""
    out: list[str] = []
    say = out.append
    if not _IMAGE.fullmatch(s.image):
        say(f"{s.image}: not name:tag")
    names = [m.name for m in s.contract.modes]
    if len(set(names)) != len(names):
        say(f"{s.image}: a mode is declared twice")
    if s.contract.default not in names:
        say(f"{s.image}: default mode {s.contract.default!r} is not a declared mode")
    for cmd in s.commands:
        if cmd not in names:
            say(f"{s.image}: command {cmd!r} has no mode in the contract")
        elif not any(f.path == f"/usr/local/bin/{cmd}" for f in s.files) and \
                not any(link.path == f"/usr/local/bin/{cmd}" for link in s.links):
            say(f"{s.image}: command {cmd!r} is neither a file nor a link in /usr/local/bin")
    for m in s.contract.modes:
        if m.kind not in KINDS:
            say(f"{s.image} {m.name}: kind {m.kind!r} is not one of {', '.join(KINDS)}")
        for var in m.env_required + m.env_optional + ((m.s3.endpoint_env, m.s3.prefix_env) if m.s3 else ()):
            if not _ENV_NAME.fullmatch(var):
                say(f"{s.image} {m.name}: {var!r} is not an environment variable name")
        if set(m.env_required) & set(m.env_optional):
            say(f"{s.image} {m.name}: a variable is both required and optional")
        if m.s3 and m.s3.action not in ("put", "get"):
            say(f"{s.image} {m.name}: S3 action {m.s3.action!r} is not put or get")
        if m.s3:
            for var in (m.s3.endpoint_env, m.s3.prefix_env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if var not in m.env_required:
                    say(f"{s.image} {m.name}: S3 needs {var}, which is not a required variable")
        for p in m.ports:
            if not 0 < p < 65536:
                say(f"{s.image} {m.name}: port {p} is not 1-65535")
        if m.kind == "serve" and not m.ports:
            say(f"{s.image} {m.name}: a serving mode needs a port")
        for n in m.needs:
            if not 0 < n.port < 65536 or not n.host:
                say(f"{s.image} {m.name}: need {n.host}:{n.port} is not host:port")
            if n.host.startswith("$") and n.host[1:] not in m.env_required:
                say(f"{s.image} {m.name}: need {n.host} names a variable that is not required")
        for path in m.writes + tuple(p.path for p in m.produce):
            if not path.startswith("/"):
                say(f"{s.image} {m.name}: {path!r} is not an absolute path")
    for thing in s.files + s.dirs + s.links:
        if not thing.path.startswith("/") or "//" in thing.path or "/../" in thing.path + "/":
            say(f"{s.image}: {thing.path!r} is not a clean absolute path")
    paths = [t.path for t in s.files + s.dirs + s.links]
    if len(set(paths)) != len(paths):
        say(f"{s.image}: a path is declared twice")
    uids = {a.uid: a.name for a in s.accounts}
    if s.contract.uid is not None and s.contract.uid != 0 and uids.get(s.contract.uid) != s.contract.user:
        say(f"{s.image}: contract user {s.contract.user} uid {s.contract.uid} has no account")
    for a in s.accounts:
        if not (0 < a.uid < 65534 and 0 <= a.gid < 65534) or not re.fullmatch(r"[a-z_][a-z0-9_-]*", a.name):
            say(f"{s.image}: account {a.name}:{a.uid}:{a.gid} is not a valid system account")
    return out


def _plain(obj) -> dict:
    return json.loads(json.dumps(asdict(obj), sort_keys=True, default=list))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

"""A real container registry on the host, for guests that pull the fleet's images.

`LocalRegistry` runs Debian's `docker-registry` (the CNCF distribution
registry, v2.8 in bookworm and trixie) on 127.0.0.1, plain HTTP, no auth, its
storage in a directory the caller chooses (so pushed images can be kept in a
cache across runs). `push` copies an OCI image layout into it with `skopeo`.
A QEMU guest on user-mode networking reaches it at 10.0.2.2:PORT, and pulls the
fleet's references through a registries.conf mirror (`mirror_dropin`), so the
Quadlet files keep their `Image=` as the fleet wrote them.

Facts used here:
- registry configuration keys (`version: 0.1`, `storage.filesystem.rootdirectory`,
  `http.addr`, no `auth` and no `http.tls` meaning none): distribution's
  docs/configuration.md (v2.8), and Debian's /etc/docker/registry/config.yml;
- `GET /v2/` answering 200 when the registry is up: the registry HTTP API V2
  ("API Version Check", distribution docs/spec/api.md);
- `skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG --dest-tls-verify=false`,
  `--digestfile`, and the global `--insecure-policy`: skopeo(1), skopeo-copy(1);
- the drop-in's `[[registry]]` `prefix`/`location` and `[[registry.mirror]]`
  `location`/`insecure`: containers-registries.conf(5) (registries.conf.d
  drop-ins have the same format and are merged by prefix).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from .errors import CommandError, ImageError, require_tool
from .run import run, spawn, stop

REGISTRY_PROGRAM = "docker-registry"
REGISTRY_PACKAGE = "docker-registry"
SKOPEO_PROGRAM = "skopeo"
SKOPEO_PACKAGE = "skopeo"

# The address a QEMU guest on user-mode networking reaches the host's 127.0.0.1 at (QEMU's slirp).
GUEST_HOST_ADDRESS = "10.0.2.2"

# distribution's reference grammar (reference/regexp.go): lowercase path components
# joined by "/", separators ".", "_", "__" or "-"+; a tag is [\w][\w.-]{0,127}.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPO_AND_TAG = re.compile(rf"({_COMPONENT}(?:/{_COMPONENT})*):([\w][\w.-]{{0,127}})", re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")


INSTANCE_HEADER = "X-Stoker-Registry"


def registry_config(storage: Path, port: int, host: str = "127.0.0.1", instance: str = "") -> str:
    """The registry's YAML configuration: filesystem storage under `storage`, HTTP on host:port.

    No `auth` section (anyone may push and pull) and no `http.tls` (plain HTTP):
    it listens on the loopback address only. Deleting is enabled so a cache can
    be pruned with the API. `instance`, when given, is sent back in every
    response's X-Stoker-Registry header (`http.headers`), so a start-up check
    knows it reached this registry and not another one on the same port.
    Strings are JSON-quoted, which YAML reads as is.
    """
    if not 0 < port < 65536:
        raise ImageError(f"registry port {port} is not a TCP port (1-65535)")
    text = (
        "# written by stoker (tools/stoker/boot/registry.py) for one run of docker-registry\n"
        "version: 0.1\n"
        "log:\n"
        "  level: info\n"
        "storage:\n"
        "  filesystem:\n"
        f"    rootdirectory: {json.dumps(str(storage))}\n"
        "  delete:\n"
        "    enabled: true\n"
        "http:\n"
        f"  addr: {json.dumps(f'{host}:{port}')}\n"
    )
    if instance:
        text += f"  headers:\n    {INSTANCE_HEADER}: [{json.dumps(instance)}]\n"
    return text


def split_reference(image: str) -> tuple[str, str]:
    """("registry.ebisc.org", "ebisc/nginx:latest") for "registry.ebisc.org/ebisc/nginx:latest".

    The first component is the registry host (it has a "." or ":" or is
    "localhost", distribution's rule); a reference without a tag gets
    ":latest". ImageError for anything else (no host, a digest, bad grammar).
    """
    if "@" in image:
        raise ImageError(f"{image}: references by digest are not served by the local registry; use a tag")
    host, sep, rest = image.partition("/")
    if not sep or not ("." in host or ":" in host or host == "localhost") or not _HOST.fullmatch(host):
        raise ImageError(f"{image}: not a reference with a registry host (host/path:tag)")
    if ":" not in rest.rsplit("/", 1)[-1]:
        rest += ":latest"
    check_repo_and_tag(rest)
    return host, rest


def check_repo_and_tag(repo_and_tag: str) -> str:
    """`repo_and_tag` if it is REPO:TAG in distribution's grammar, else ImageError."""
    if not isinstance(repo_and_tag, str) or not _REPO_AND_TAG.fullmatch(repo_and_tag):
        raise ImageError(f"{repo_and_tag!r} is not a repository path and tag (like ebisc/nginx:latest): "
                         "lowercase letters, digits and . _ - separators, then :TAG")
    return repo_and_tag


def mirror_dropin(prefix: str, location: str, *, insecure: bool = True) -> str:
    """A containers-registries.conf(5) drop-in: pull `prefix/...` from mirror `location` first.

    For prefix "registry.ebisc.org" and location "10.0.2.2:5000", a pull of
    registry.ebisc.org/ebisc/nginx:latest asks 10.0.2.2:5000/ebisc/nginx:latest
    first (the prefix is replaced by the mirror location), then the registry
    itself if the mirror fails; the image keeps its fleet name in the guest's
    storage. `insecure = true` lets the mirror speak plain HTTP. Install it as
    /etc/containers/registries.conf.d/<name>.conf (the file name's order
    decides which drop-in wins for the same prefix).
    """
    for what, value in (("prefix", prefix), ("location", location)):
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:/_-]*", value):
            raise ImageError(f"registries.conf {what} {value!r}: expected host[:port][/path]")
    return (
        "# stoker boot test: the fleet's images come from the host's local registry\n"
        "[[registry]]\n"
        f"prefix = {json.dumps(prefix)}\n"
        f"location = {json.dumps(prefix)}\n"
        "\n"
        "[[registry.mirror]]\n"
        f"location = {json.dumps(location)}\n"
        f"insecure = {'true' if insecure else 'false'}\n"
    )


def cache_storage() -> Path:
    """Where the boot test keeps the local registry's storage across runs: <cache>/stoker/registry."""
    from .image import cache_root
    return cache_root() / "registry"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalRegistry:
    """docker-registry on `host`:`port` (a free port when None) with its storage in `storage`.

    Use as a context manager: entering starts the registry and returns once
    `GET /v2/` answers 200 (ImageError after `start_timeout` seconds, with the
    tail of its log); leaving stops it (SIGTERM, then SIGKILL after 5 s), also
    when the block raised. `log_file`: where the registry's own log goes
    (default: a temporary file, removed at exit). MissingTool when
    docker-registry is not installed.
    """

    def __init__(self, storage: Path, *, port: int | None = None, host: str = "127.0.0.1",
                 start_timeout: float = 30.0, log_file: Path | None = None):
        self.storage = Path(storage)
        self.host = host
        self.port: int | None = None
        self._wanted_port = port
        self._start_timeout = start_timeout
        self._log_file = log_file
        self._tmp: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log: IO[str] | None = None
        self._instance = ""

    # -- life cycle -------------------------------------------------------------------------------
    def __enter__(self) -> "LocalRegistry":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """host:port, e.g. 127.0.0.1:41234 (ImageError when not running)."""
        if self.port is None:
            raise ImageError("the local registry is not running")
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        return Path(self._log.name) if self._log is not None else None

    def start(self) -> None:
        program = require_tool(REGISTRY_PROGRAM, REGISTRY_PACKAGE, "the boot test's local container registry")
        self.storage.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="stoker-registry-"))
        try:
            for attempt in range(3):
                port = self._wanted_port or _free_port(self.host)
                config = self._tmp / "config.yml"
                self._instance = secrets.token_hex(8)
                config.write_text(registry_config(self.storage, port, self.host, self._instance))
                log_path = self._log_file or (self._tmp / "registry.log")
                log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = open(log_path, "a", encoding="utf-8")
                self._proc = spawn([program, "serve", config], stdout=self._log)
                why = self._wait_ready(port)
                if why is None:
                    self.port = port
                    return
                self._terminate()
                # a free port can be taken between our probe and the registry's bind: try another one
                if "address already in use" in why and self._wanted_port is None and attempt < 2:
                    continue
                raise ImageError(f"docker-registry did not start on {self.host}:{port}: {why}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port: int) -> str | None:
        """None once GET /v2/ answers 200 from our process (its instance header), else why not."""
        deadline = time.monotonic() + self._start_timeout
        url = f"http://{self.host}:{port}/v2/"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return f"it exited with status {self._proc.returncode}:\n{self._log_tail()}"
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200 and resp.headers.get(INSTANCE_HEADER) == self._instance:
                        return None
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return f"GET {url} did not answer 200 within {self._start_timeout:.0f} s:\n{self._log_tail()}"

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        try:
            lines = Path(self._log.name).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-10:])

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop(proc, grace=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the registry (idempotent); its storage stays."""
        self._terminate()
        self.port = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- images -----------------------------------------------------------------------------------
    def reference(self, repo_and_tag: str) -> str:
        """host:port/repo:tag, as the host reaches it."""
        return f"{self.address}/{check_repo_and_tag(repo_and_tag)}"

    def push(self, oci_layout_ref: str, repo_and_tag: str, *, timeout: float = 600) -> str:
        """Copy the image `oci_layout_ref` ("DIR:TAG" of an OCI image layout) to repo_and_tag here.

        Returns the manifest digest as stored ("sha256:…"). MissingTool without
        skopeo; ImageError for a bad reference or a failed copy (skopeo's
        message included).
        """
        check_repo_and_tag(repo_and_tag)
        layout, sep, tag = str(oci_layout_ref).rpartition(":")
        if not sep or not layout or not tag or not (Path(layout) / "index.json").is_file():
            raise ImageError(f"{oci_layout_ref}: not DIR:TAG of an OCI image layout (no DIR/index.json)")
        skopeo = require_tool(SKOPEO_PROGRAM, SKOPEO_PACKAGE, "pushing images to the local registry")
        dest = f"docker://{self.reference(repo_and_tag)}"
        with tempfile.TemporaryDirectory(prefix="stoker-push-") as tmp:
            digest_file = Path(tmp) / "digest"
            # --insecure-policy: the image was built here; there is no signature to check
            argv = [skopeo, "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
                    "--digestfile", digest_file, f"oci:{layout}:{tag}", dest]
            try:
                run(argv, timeout=timeout)
            except CommandError as exc:
                raise ImageError(f"pushing {oci_layout_ref} to {dest} failed: {exc}") from exc
            return digest_file.read_text().strip()

"""Fetch a Fedora CoreOS QEMU image: stream metadata → qcow2.xz → sha256 + signature → cache.

Nothing unverified is kept: a checksum or signature mismatch deletes the download.
"""

from __future__ import annotations

import base64
import hashlib
import json
import lzma
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from .errors import CommandError, ImageError
from .image import Image, cache_root
from .run import run

# The official stream metadata; override with --stream-url or STOKER_FCOS_STREAM_URL (a local mirror, tests).
STREAM_URL = "https://builds.coreos.fedoraproject.org/streams/{stream}.json"
STREAMS = ("stable", "testing", "next")
KEY_DIRS = (Path("/usr/share/distribution-gpg-keys/fedora"),)
FCOS_IGNITION_MAX_SPEC = "3.6.0"

Progress = Callable[[str, int, int | None], None]  # (what, bytes done, total bytes or None)


@dataclass(frozen=True)
class Artifact:
    release: str
    location: str
    signature: str
    sha256: str
    uncompressed_sha256: str | None


def stream_url(stream: str, override: str | None = None) -> str:
    if stream not in STREAMS:
        raise ImageError(f"unknown stream {stream!r}; choose one of {', '.join(STREAMS)}")
    template = override or os.environ.get("STOKER_FCOS_STREAM_URL") or STREAM_URL
    return template.format(stream=stream)


def parse_stream(doc: dict, arch: str = "x86_64") -> Artifact:
    """The QEMU qcow2.xz disk of `arch` from a stream document."""
    try:
        qemu = doc["architectures"][arch]["artifacts"]["qemu"]
        disk = qemu["formats"]["qcow2.xz"]["disk"]
        return Artifact(qemu["release"], disk["location"], disk["signature"], disk["sha256"],
                        disk.get("uncompressed-sha256"))
    except (KeyError, TypeError) as exc:
        raise ImageError(f"the stream metadata has no {arch} QEMU qcow2.xz disk (missing {exc})") from None


def dearmor(text: str) -> bytes:
    """The binary packets of an ASCII-armored OpenPGP key (gpgv wants a binary keyring)."""
    lines = text.strip().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN PGP"))
    except StopIteration:
        return text.encode()  # already binary or not a key: let gpgv judge
    body, in_headers = [], True
    for line in lines[start + 1:]:
        if line.startswith("-----END PGP"):
            break
        if in_headers:
            if not line.strip():
                in_headers = False
            elif ":" in line:
                continue
            else:
                in_headers = False
        if not in_headers and line.strip() and not line.startswith("="):
            body.append(line.strip())
    return base64.b64decode("".join(body))


def build_keyring(key_files: list[Path], dest: Path) -> Path:
    with open(dest, "wb") as out:
        for key in key_files:
            data = key.read_bytes()
            out.write(dearmor(data.decode("ascii", errors="replace")) if b"-----BEGIN PGP" in data else data)
    return dest


def default_keys() -> list[Path]:
    """Fedora's primary keys from the distribution-gpg-keys package, if installed."""
    keys: list[Path] = []
    for d in KEY_DIRS:
        if d.is_dir():
            keys += sorted(d.glob("RPM-GPG-KEY-fedora-*-primary"))
    return keys


def _download(session: requests.Session, url: str, dest: Path, progress: Progress, what: str) -> str:
    """Stream `url` to `dest`; returns its sha256."""
    digest = hashlib.sha256()
    try:
        with session.get(url, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            with open(dest, "wb") as out:
                for chunk in resp.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    progress(what, done, total)
    except requests.RequestException as exc:
        raise ImageError(f"downloading {url} failed: {exc}") from exc
    return digest.hexdigest()


def fetch_fcos(stream: str = "stable", *, keyring: Path | None = None, root: Path | None = None,
               url: str | None = None, progress: Progress | None = None,
               session: requests.Session | None = None) -> Image:
    """Return the cached, verified Fedora CoreOS image of `stream`, downloading it if needed."""
    progress = progress or (lambda what, done, total: None)
    session = session or requests.Session()
    meta_url = stream_url(stream, url)
    try:
        resp = session.get(meta_url, timeout=60)
        resp.raise_for_status()
        doc = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise ImageError(f"reading the {stream} stream metadata from {meta_url} failed: {exc}") from exc
    art = parse_stream(doc)
    final = (root or cache_root()) / "images" / f"fcos-{stream}-{art.release}"
    hit = load_fcos(final)
    if hit is not None:
        progress("cached", 1, 1)
        return hit
    keys = [keyring] if keyring else default_keys()
    if not keys:
        raise ImageError("no Fedora signing keys: install the distribution-gpg-keys package or pass --keyring FILE")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".fetch-{stream}-", dir=final.parent))
    try:
        xz = work / Path(art.location).name
        got = _download(session, art.location, xz, progress, "image")
        if got != art.sha256:
            raise ImageError(f"sha256 mismatch for {art.location}: the stream says {art.sha256}, "
                             f"the download is {got}; nothing was kept")
        sig = work / (xz.name + ".sig")
        _download(session, art.signature, sig, progress, "signature")
        ring = build_keyring(keys, work / "keyring.gpg")
        try:
            run(["gpgv", "--keyring", ring, sig, xz], timeout=300)
        except CommandError as exc:
            raise ImageError(f"signature check failed for {art.location}; nothing was kept\n{exc}") from None
        progress("decompress", 0, None)
        disk = work / "root.qcow2"
        digest = hashlib.sha256()
        with lzma.open(xz) as src, open(disk, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if art.uncompressed_sha256 and digest.hexdigest() != art.uncompressed_sha256:
            raise ImageError(f"the decompressed image's sha256 {digest.hexdigest()} is not the stream's "
                             f"{art.uncompressed_sha256}; nothing was kept")
        xz.unlink()
        manifest = {"kind": "fcos", "stream": stream, "release": art.release, "source": art.location,
                    "sha256": art.sha256, "ignition_max_spec": FCOS_IGNITION_MAX_SPEC,
                    "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        for name in ("keyring.gpg", sig.name):
            (work / name).unlink(missing_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    image = load_fcos(final)
    assert image is not None
    return image


def load_fcos(directory: Path) -> Image | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    disk = directory / "root.qcow2"
    if not disk.is_file():
        return None
    return Image("fcos", disk, None, None, manifest.get("ignition_max_spec", FCOS_IGNITION_MAX_SPEC), manifest)


def cached_fcos(stream: str = "stable", root: Path | None = None) -> Image | None:
    """The newest fetched image of `stream`, without network."""
    base = (root or cache_root()) / "images"
    found = sorted(base.glob(f"fcos-{stream}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for d in found:
        image = load_fcos(d)
        if image is not None:
            return image
    return None

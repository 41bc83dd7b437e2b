"""`stoker image fetch` against a local HTTP server: good image, corrupted download, bad signature."""

import functools
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stoker.boot.errors import ImageError
from stoker.boot.fetch import cached_fcos, dearmor, fetch_fcos, parse_stream, stream_url

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and shutil.which("gpgv")), reason="needs gpg and gpgv")

DISK = b"QFI\xfb" + b"not really a qcow2 disk, but bytes to verify\n" * 2000


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gpg(tmp_path_factory):
    """Two throwaway signing keys: the trusted one and an impostor."""
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}

    def gpg_run(*args, **kw):
        return subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
                               *args], env=env, check=True, capture_output=True, **kw)
    for who in ("trusted", "impostor"):
        gpg_run("--quick-gen-key", f"{who} <{who}@stoker.invalid>", "ed25519", "sign", "never")
    keyring = home / "trusted.asc"
    keyring.write_bytes(gpg_run("--armor", "--export", "trusted@stoker.invalid").stdout)
    yield gpg_run, keyring
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def publish(root: Path, base: str, gpg_run, *, signer="trusted", corrupt=False, release="42.20261101.3.0"):
    name = f"fedora-coreos-{release}-qemu.x86_64.qcow2.xz"
    xz = lzma.compress(DISK)
    (root / name).write_bytes(xz)
    gpg_run("--local-user", f"{signer}@stoker.invalid", "--detach-sign", "--output", str(root / f"{name}.sig"),
            str(root / name))
    if corrupt:  # the server hands out different bytes than the stream promised and the key signed
        (root / name).write_bytes(xz[:-10] + b"0123456789")
    doc = {"stream": "stable", "architectures": {"x86_64": {"artifacts": {"qemu": {
        "release": release, "formats": {"qcow2.xz": {"disk": {
            "location": f"{base}/{name}", "signature": f"{base}/{name}.sig",
            "sha256": hashlib.sha256(xz).hexdigest(),
            "uncompressed-sha256": hashlib.sha256(DISK).hexdigest()}}}}}}}}
    (root / "stable.json").write_text(json.dumps(doc))
    return f"{base}/{{stream}}.json"


def test_good_image_is_verified_decompressed_and_cached(gpg, server, tmp_path):
    gpg_run, keyring = gpg
    root, base = server
    url = publish(root, base, gpg_run)
    seen = []
    image = fetch_fcos("stable", keyring=keyring, root=tmp_path / "cache", url=url,
                       progress=lambda what, done, total: seen.append(what))
    assert image.kind == "fcos" and image.kernel is None
    assert image.root.read_bytes() == DISK
    assert image.manifest["release"] == "42.20261101.3.0"
    assert "image" in seen and "signature" in seen
    assert [p.name for p in image.root.parent.iterdir()] and not list(image.root.parent.glob("*.xz"))
    # a second fetch is a cache hit; so is the offline lookup
    again = fetch_fcos("stable", keyring=keyring, root=tmp_path / "cache", url=url)
    assert again.root == image.root
    assert cached_fcos("stable", root=tmp_path / "cache").root == image.root


def test_corrupted_download_is_refused_and_not_kept(gpg, server, tmp_path):
    gpg_run, keyring = gpg
    root, base = server
    url = publish(root, base, gpg_run, corrupt=True)
    with pytest.raises(ImageError, match="sha256 mismatch.*nothing was kept"):
        fetch_fcos("stable", keyring=keyring, root=tmp_path / "cache", url=url)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_bad_signature_is_refused_and_not_kept(gpg, server, tmp_path):
    gpg_run, keyring = gpg
    root, base = server
    url = publish(root, base, gpg_run, signer="impostor")
    with pytest.raises(ImageError, match="signature check failed"):
        fetch_fcos("stable", keyring=keyring, root=tmp_path / "cache", url=url)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cached_fcos("stable", root=tmp_path / "cache") is None


def test_missing_keys_are_explained(server, tmp_path, monkeypatch):
    root, base = server
    (root / "stable.json").write_text(json.dumps({"architectures": {"x86_64": {"artifacts": {"qemu": {
        "release": "1", "formats": {"qcow2.xz": {"disk": {"location": f"{base}/x", "signature": f"{base}/x.sig",
                                                           "sha256": "0"}}}}}}}}))
    monkeypatch.setattr("stoker.boot.fetch.KEY_DIRS", (tmp_path / "none",))
    with pytest.raises(ImageError, match="distribution-gpg-keys"):
        fetch_fcos("stable", root=tmp_path / "cache", url=f"{base}/{{stream}}.json")


def test_unreachable_stream_is_explained(tmp_path):
    with pytest.raises(ImageError, match="stream metadata"):
        fetch_fcos("stable", keyring=tmp_path / "k", root=tmp_path, url="http://127.0.0.1:9/{stream}.json")


def test_stream_parsing_and_names():
    with pytest.raises(ImageError, match="no x86_64 QEMU qcow2.xz"):
        parse_stream({"architectures": {}})
    with pytest.raises(ImageError, match="unknown stream"):
        stream_url("beta")
    assert stream_url("next", "http://h/{stream}.json") == "http://h/next.json"


def test_dearmor_matches_gpg(gpg, tmp_path):
    gpg_run, keyring = gpg
    binary = gpg_run("--export", "trusted@stoker.invalid").stdout
    assert dearmor(keyring.read_text()) == binary


def test_cli_fetch_prints_where_the_image_is(gpg, server, tmp_path, monkeypatch, capsys):
    from stoker.cli import main
    gpg_run, keyring = gpg
    root, base = server
    url = publish(root, base, gpg_run)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["image", "fetch", "--stream", "stable", "--stream-url", url, "--keyring", str(keyring)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("fcos-stable-42.20261101.3.0")
    assert (Path(out) / "root.qcow2").read_bytes() == DISK

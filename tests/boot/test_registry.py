"""The local registry: its configuration, references, the registries.conf drop-in, and a real run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

from stoker.boot.errors import ImageError, MissingTool
from stoker.boot.registry import (LocalRegistry, check_repo_and_tag, mirror_dropin, registry_config,
                                  split_reference)


def test_config_is_filesystem_storage_on_loopback_without_auth_or_tls(tmp_path):
    doc = yaml.safe_load(registry_config(tmp_path / "store dir", 5123, instance="abc"))
    assert doc["http"].pop("headers") == {"X-Stoker-Registry": ["abc"]}
    assert doc == {"version": 0.1, "log": {"level": "info"},
                   "storage": {"filesystem": {"rootdirectory": str(tmp_path / "store dir")},
                               "delete": {"enabled": True}},
                   "http": {"addr": "127.0.0.1:5123"}}
    with pytest.raises(ImageError, match="not a TCP port"):
        registry_config(tmp_path, 70000)


@pytest.mark.parametrize("ref, expected", [
    ("registry.ebisc.org/ebisc/nginx:latest", ("registry.ebisc.org", "ebisc/nginx:latest")),
    ("registry.ebisc.org/ebisc/centos/mongodb-32-centos7:latest",
     ("registry.ebisc.org", "ebisc/centos/mongodb-32-centos7:latest")),
    ("registry.ebisc.org/ebisc/elasticsearch", ("registry.ebisc.org", "ebisc/elasticsearch:latest")),
    ("localhost:5000/a/b:1.6.2", ("localhost:5000", "a/b:1.6.2")),
])
def test_split_reference(ref, expected):
    assert split_reference(ref) == expected


@pytest.mark.parametrize("ref", ["nginx:latest", "ebisc/nginx:latest", "registry.ebisc.org/Ebisc/nginx:latest",
                                 "registry.ebisc.org/ebisc/nginx@sha256:" + "0" * 64, "reg.example/a:b:c"])
def test_bad_references_are_image_errors(ref):
    with pytest.raises(ImageError):
        split_reference(ref)


def test_repo_and_tag_grammar():
    assert check_repo_and_tag("ebisc/tracker-webserver:latest")
    for bad in ("ebisc/nginx", "ebisc//nginx:latest", "ebisc/nginx:-x", "ebisc/nginx:é", "", None):
        with pytest.raises(ImageError):
            check_repo_and_tag(bad)


def test_mirror_dropin_is_registries_conf_v2():
    doc = tomllib.loads(mirror_dropin("registry.ebisc.org", "10.0.2.2:5000"))
    assert doc == {"registry": [{"prefix": "registry.ebisc.org", "location": "registry.ebisc.org",
                                 "mirror": [{"location": "10.0.2.2:5000", "insecure": True}]}]}
    with pytest.raises(ImageError):
        mirror_dropin('registry"x', "10.0.2.2:5000")


def test_missing_registry_program_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="Debian package docker-registry") as exc:
        with LocalRegistry(tmp_path / "store"):
            pass
    assert exc.value.package == "docker-registry"


def test_address_before_start_is_an_error(tmp_path):
    with pytest.raises(ImageError, match="not running"):
        LocalRegistry(tmp_path).address


# -- the real registry ----------------------------------------------------------------------------

needs_registry = pytest.mark.skipif(shutil.which("docker-registry") is None,
                                    reason="needs docker-registry (Debian package docker-registry)")


@needs_registry
def test_registry_answers_and_stops_even_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError):
        with LocalRegistry(tmp_path / "store") as reg:
            with urllib.request.urlopen(f"http://{reg.address}/v2/", timeout=5) as resp:
                assert resp.status == 200
                assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
            proc, port = reg._proc, reg.port
            raise RuntimeError("boom")
    assert proc.poll() is not None  # stopped, not orphaned
    assert reg.port is None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)


@needs_registry
def test_port_in_use_is_reported_with_the_registry_log(tmp_path):
    with LocalRegistry(tmp_path / "a") as first:
        with pytest.raises(ImageError, match="did not start"):
            with LocalRegistry(tmp_path / "b", port=first.port, start_timeout=10):
                pass


@needs_registry
def test_push_rejects_what_is_not_an_oci_layout(tmp_path):
    with LocalRegistry(tmp_path / "store") as reg:
        with pytest.raises(ImageError, match="not DIR:TAG"):
            reg.push(f"{tmp_path}/nothing:latest", "ebisc/x:latest")
        with pytest.raises(ImageError, match="repository path and tag"):
            reg.push(f"{tmp_path}:latest", "Ebisc/X")


@pytest.mark.skipif(shutil.which("docker-registry") is None or shutil.which("skopeo") is None
                    or shutil.which("umoci") is None, reason="needs docker-registry, skopeo and umoci")
def test_push_and_pull_through_the_mirror_dropin(tmp_path):
    """A tiny image made with umoci, pushed, then pulled by its fleet name through the drop-in.

    The drop-in is bind-mounted over /etc/containers/registries.conf.d in a
    private mount namespace (needs root), so skopeo reads it as a guest's
    podman would (the same containers/image library).
    """
    layout = tmp_path / "oci"
    subprocess.run(["umoci", "init", "--layout", layout], check=True)
    subprocess.run(["umoci", "new", "--image", f"{layout}:latest"], check=True)
    subprocess.run(["umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "true"], check=True)
    with LocalRegistry(tmp_path / "store") as reg:
        digest = reg.push(f"{layout}:latest", "ebisc/tiny:latest")
        assert digest.startswith("sha256:")
        out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reg.address}/ebisc/tiny:latest"],
                             capture_output=True, text=True, check=True)
        assert json.loads(out.stdout)["Digest"] == digest
        if os.geteuid() != 0 or not Path("/etc/containers").is_dir() or shutil.which("unshare") is None:
            pytest.skip("the drop-in check needs root, unshare and /etc/containers")
        conf_d = tmp_path / "registries.conf.d"
        conf_d.mkdir()
        (conf_d / "50-stoker-mirror.conf").write_text(mirror_dropin("registry.ebisc.org", reg.address))
        target = Path("/etc/containers/registries.conf.d")
        mount = f"mount --bind {conf_d} {target}" if target.is_dir() else \
            f"mount -t tmpfs tmpfs /etc/containers && cp -r {conf_d} {target}"
        pull = (f"{mount} && skopeo --insecure-policy copy docker://registry.ebisc.org/ebisc/tiny:latest "
                f"oci:{tmp_path}/pulled:latest")
        proc = subprocess.run(["unshare", "-m", "sh", "-c", pull], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        log = reg.log_path.read_text()
        assert "/v2/ebisc/tiny/manifests/latest" in log  # served by the mirror, under the fleet's path

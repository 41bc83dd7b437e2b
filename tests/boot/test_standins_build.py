"""Build real stand-ins (base, elasticsearch, nginx), push them into a real registry, inspect them.

Needs root, mmdebstrap, umoci, skopeo and docker-registry (see .ci/apt-packages);
skips with the reason otherwise. Uses the real cache (~/.cache/stoker/standins):
cold, the base takes about 30 s and nginx about 12 s; warm, every build here is
a cache hit in well under a second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest

from stoker.boot.registry import LocalRegistry
from stoker.boot.standins import build_all, by_image, publish
from stoker.boot.standins.model import CONTRACT_PATH

pytestmark = pytest.mark.slow

FLEET_REGISTRY = "registry.ebisc.org/ebisc"
TOOLS = {"mmdebstrap": "mmdebstrap", "umoci": "umoci", "skopeo": "skopeo", "docker-registry": "docker-registry"}


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "building stand-ins needs root (mmdebstrap --mode=root)"
    absent = [f"{tool} (Debian package {pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    return f"missing {', '.join(absent)}" if absent else None


@pytest.fixture(scope="module")
def built():
    why = _missing()
    if why:
        pytest.skip(why)
    images = (by_image()["elasticsearch:1.6.2"], by_image()["nginx:latest"])
    return build_all(images, registry=FLEET_REGISTRY)


def test_a_second_build_is_a_cache_hit(built):
    t0 = time.monotonic()
    again = build_all((by_image()["elasticsearch:1.6.2"], by_image()["nginx:latest"]), registry=FLEET_REGISTRY)
    assert time.monotonic() - t0 < 5
    assert all(b.cached for b in again)
    assert [b.digest for b in again] == [b.digest for b in built]


def test_images_share_the_base_layer_and_carry_their_contract(built):
    base, es, nginx = built
    assert es.layers[0]["digest"] == nginx.layers[0]["digest"] == base.layers[0]["digest"]
    blob = es.layout / "blobs" / "sha256" / es.layers[1]["digest"].split(":")[1]
    with tarfile.open(blob) as tar:
        contract = json.load(tar.extractfile(CONTRACT_PATH.lstrip("/")))
        passwd = tar.extractfile("etc/passwd").read().decode()
        data = tar.getmember("usr/share/elasticsearch/data")
    assert contract["reference"] == f"{FLEET_REGISTRY}/elasticsearch:1.6.2"
    assert contract["user"] == {"name": "elasticsearch", "uid": 105}
    assert "elasticsearch:x:105:105:" in passwd
    assert (data.uid, data.mode) == (105, 0o755)
    assert es.layers[1]["size"] < 10_000  # the generic stand-ins are a contract and an account, on the base


def test_nginx_is_debians_with_the_official_images_layout(built, tmp_path):
    nginx = built[2]
    assert nginx.manifest["packages"]["nginx"]
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", nginx.oci_ref, bundle], check=True, capture_output=True)
    root = bundle / "rootfs"
    assert "nginx:x:101:101:" in (root / "etc/passwd").read_text()
    assert os.readlink(root / "var/log/nginx/error.log") == "/dev/stderr"
    assert not (root / "etc/nginx/sites-enabled").exists()
    assert not [p for p in (root / "usr/share/man").rglob("*") if p.is_file()]  # dpkg's path filter held
    proc = subprocess.run(["chroot", root, "nginx", "-t"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "test is successful" in proc.stderr


def test_pushed_images_are_served_under_the_fleets_paths(built, tmp_path):
    with LocalRegistry(tmp_path / "store") as reg:
        refs = publish(built, reg, FLEET_REGISTRY)
        assert refs == {f"{FLEET_REGISTRY}/elasticsearch:1.6.2": f"{reg.address}/ebisc/elasticsearch:1.6.2",
                        f"{FLEET_REGISTRY}/nginx:latest": f"{reg.address}/ebisc/nginx:latest"}
        out = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                              f"docker://{reg.address}/ebisc/elasticsearch:1.6.2"],
                             capture_output=True, text=True, check=True)
        info = json.loads(out.stdout)
        assert info["Layers"] == [layer["digest"] for layer in built[1].layers]
        assert info["Labels"]["stoker.standin.image"] == "elasticsearch:1.6.2"
        config = json.loads(subprocess.run(["skopeo", "inspect", "--config", "--tls-verify=false",
                                            f"docker://{reg.address}/ebisc/elasticsearch:1.6.2"],
                                           capture_output=True, text=True, check=True).stdout)["config"]
        assert config["User"] == "elasticsearch"
        assert config["Cmd"] == ["elasticsearch"]
        assert set(config["ExposedPorts"]) == {"9200/tcp", "9300/tcp"}
        # pushing again changes nothing: the same digests
        assert publish(built, reg, FLEET_REGISTRY) == refs

"""The stand-in declarations against the fleet's definitions (vms/*.yaml, fleet.yaml, files/bastion/).

The definitions are the truth about what the fleet expects: every image its
rendered Quadlet files name has a stand-in; every command, variable, port,
user, data directory owner and dependency a container relies on is in that
stand-in's contract.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stoker.boot.standins import BASE, STANDINS, by_image
from stoker.boot.standins import model
from stoker.boot.standins.catalog import IMS_NGINX, NGINX, POSTGRES, image_env
from stoker.boot.standins.model import (CONTRACT_PATH, FILES_DIR, Contract, File, Mode, Need, contract_document,
                                        contract_json, problems)
from stoker.fleet.definitions import full_image, load_fleet
from stoker.fleet.external import file_contents
from stoker.fleet.render import render_vm
from stoker.fleet.secrets import load_secrets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fleet():
    return load_fleet(REPO)


@pytest.fixture(scope="module")
def registry(fleet):
    return fleet.data["registry"].rstrip("/")


def containers(fleet):
    """(vm, container) for every container of every VM."""
    for vm in fleet.vms.values():
        for c in vm.containers.values():
            yield vm, c


def standin_of(registry, c):
    ref = full_image(registry, c.image)
    assert ref.startswith(registry + "/"), f"{c.name}: {ref} is not in the fleet registry"
    s = by_image().get(ref[len(registry) + 1:])
    assert s is not None, f"{c.name}: no stand-in for {ref}"
    return s


def mode_of(s, c) -> Mode:
    name = c.command[0] if c.command else s.contract.default
    mode = s.contract.mode(name)
    assert mode is not None, f"{c.name}: command {name!r} is not a mode of the {s.image} stand-in"
    return mode


def test_every_declaration_is_consistent():
    for s in STANDINS:
        assert problems(s) == [], s.image
    assert len({s.image for s in STANDINS}) == len(STANDINS)


def test_every_image_the_rendered_quadlet_files_name_has_a_stand_in(fleet, registry):
    secrets = load_secrets(None, environ={}, dev=True)
    named = set()
    for name in fleet.vms:
        cfg = json.loads(render_vm(fleet, name, secrets).full_ignition)
        for entry in cfg.get("storage", {}).get("files", []):
            if entry["path"].startswith("/etc/containers/systemd/") and entry["path"].endswith(".container"):
                named.update(re.findall(r"^Image=(\S+)$", file_contents(entry) or "", re.M))
    assert named, "no Quadlet .container files rendered"
    missing = sorted(ref for ref in named if not ref.startswith(registry + "/")
                     or ref[len(registry) + 1:] not in by_image())
    assert missing == []
    unused = sorted(set(by_image()) - {ref[len(registry) + 1:] for ref in named})
    assert unused == [], "stand-ins for images the fleet no longer uses"


def test_commands_are_modes_and_variables_are_in_the_contract(fleet, registry):
    for vm, c in containers(fleet):
        s = standin_of(registry, c)
        mode = mode_of(s, c)
        given = set(c.environment) | set(c.secrets)
        missing = set(mode.env_required) - given
        assert not missing, f"{vm.name}/{c.name}: the fleet does not set {sorted(missing)} for {s.image}"
        unread = given - set(mode.env_required) - set(mode.env_optional)
        assert not unread, f"{vm.name}/{c.name}: {sorted(unread)} not in the {s.image} contract"


def _bastion_listen_ports() -> set[int]:
    ports = set()
    for conf in (REPO / "files/bastion/nginx/conf.d").glob("*.conf"):
        ports.update(int(p) for p in re.findall(r"^\s*listen\s+(\d+)", conf.read_text(), re.M))
    return ports


def test_published_ports_are_the_contract_ports(fleet, registry):
    for vm, c in containers(fleet):
        s = standin_of(registry, c)
        mode = mode_of(s, c)
        wanted = {int(p.split("/")[0].rsplit(":", 1)[-1]) for p in c.ports}
        served = set(mode.ports) or (_bastion_listen_ports() if s is NGINX else set())
        assert wanted <= served, f"{vm.name}/{c.name}: publishes {sorted(wanted)}, {s.image} serves {sorted(served)}"
    assert _bastion_listen_ports() == {8080, 8443}


# What the fleet's definitions get wrong, found by this check; each says why. The boot
# test shows it when the container runs (a finding, not a stand-in to bend).
KNOWN_OWNER_FINDINGS = {
    # duplicity runs as root (the real image's user) with every capability dropped (the fleet's
    # default cap_drop: [all]): without CAP_DAC_OVERRIDE root cannot write into the media
    # directory, owned by 1001 mode 0755, so a restore fails
    ("ims", "duplicity-restore", "/var/mnt/cinder1/media"),
    ("ims-staging", "duplicity-restore", "/var/mnt/cinder1/media"),
}


def test_data_directories_are_owned_by_the_contract_uid(fleet, registry):
    checked = 0
    findings = set()
    for vm, c in containers(fleet):
        s = standin_of(registry, c)
        mode = mode_of(s, c)
        dirs = {}
        if vm.data_volume:
            dirs = {f"{vm.data_volume.mount}/{name}": spec for name, spec in vm.data_volume.directories.items()}
        targets = {v.target: v for v in c.volumes}
        for path in mode.writes:
            assert path in targets, f"{vm.name}/{c.name}: {s.image} writes {path}, which the fleet does not mount"
            assert not targets[path].read_only, f"{vm.name}/{c.name}: {path} is mounted read-only"
        for v in c.volumes:
            owner = dirs.get(v.source, {}).get("owner")
            if v.read_only or owner is None or s.contract.uid is None:
                continue
            if v.target in mode.writes or s.contract.uid != 0:
                if owner != s.contract.uid:
                    findings.add((vm.name, c.name, v.source))
                checked += 1
    assert findings == KNOWN_OWNER_FINDINGS
    assert checked >= 10  # postgres (3 containers), elasticsearch, ims-uwsgi (3), mongodb, duplicity-restore


def test_container_users_exist_in_the_image_with_the_contract_uid(fleet, registry):
    for vm, c in containers(fleet):
        if c.user:
            s = standin_of(registry, c)
            account = {a.name: a for a in s.accounts}.get(c.user)
            assert account is not None, f"{vm.name}/{c.name}: user {c.user} is not an account of {s.image}"
            assert account.uid == s.contract.uid


def test_needed_hosts_are_containers_of_the_vm_serving_that_port(fleet, registry):
    checked = 0
    for vm, c in containers(fleet):
        s = standin_of(registry, c)
        for need in mode_of(s, c).needs:
            host = c.environment.get(need.host[1:]) if need.host.startswith("$") else need.host
            assert host in vm.containers, f"{vm.name}/{c.name}: needs {need.host}={host}, not a container here"
            other = vm.containers[host]
            assert other.network == c.network, f"{vm.name}/{c.name}: {host} is on another network"
            other_mode = mode_of(standin_of(registry, other), other)
            assert need.port in other_mode.ports, f"{vm.name}/{c.name}: {host} does not serve {need.port}"
            checked += 1
    assert checked >= 10


def test_image_config_follows_the_contract():
    for s in STANDINS:
        assert dict(image_env(s))["PATH"].startswith("/usr/local/sbin:/usr/local/bin")
        assert s.cmd or s.entrypoint, s.image
        if s.contract.uid not in (None, 0):
            account = {a.uid: a for a in s.accounts}[s.contract.uid]
            assert s.user in (str(account.uid), account.name), s.image
    assert POSTGRES.user == "26" and POSTGRES.contract.uid == 26
    assert NGINX.cmd == ("nginx", "-g", "daemon off;") and NGINX.stop_signal == "SIGQUIT"
    assert IMS_NGINX.ports() == (8080,)


def test_nginx_configuration_keeps_the_official_images_contract():
    conf = (FILES_DIR / "files/nginx.conf").read_text()
    assert re.search(r"^user\s+nginx;", conf, re.M)
    assert "include /etc/nginx/conf.d/*.conf;" in conf and "server {" not in conf
    assert "pid        /run/nginx.pid;" in conf
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert re.search(rf"{temp}_temp_path\s+/var/cache/nginx/", conf)
    assert {a.name: (a.uid, a.gid) for a in NGINX.accounts} == {"nginx": (101, 101)}
    assert {(link.path, link.target) for link in NGINX.links} >= {("/var/log/nginx/access.log", "/dev/stdout"),
                                                                  ("/var/log/nginx/error.log", "/dev/stderr")}
    ims = (FILES_DIR / "files/ims-nginx.conf").read_text()
    assert "listen 8080;" in ims and "proxy_pass http://ims-uwsgi:9191;" in ims
    assert "alias /var/www/ims/static/;" in ims and "alias /var/www/ims/media/;" in ims


def test_scripts_are_valid():
    def compiles(path):  # the source compiles (nothing written)
        compile(path.read_text(), str(path), "exec")
    for f in (f for s in STANDINS for f in s.files if f.source):
        if f.source.endswith(".sh"):
            if shutil.which("sh"):
                subprocess.run(["sh", "-n", FILES_DIR / f.source], check=True)
        elif f.source.endswith(".py"):
            compiles(FILES_DIR / f.source)
        assert f.data().startswith(b"#!") or f.mode & 0o111 == 0, f.path
    compiles(FILES_DIR / "program.py")


# -- the cache key and the contract document ------------------------------------------------------

def test_key_is_stable_and_changes_with_the_declaration(monkeypatch):
    base_key = BASE.key()
    s = STANDINS[0]
    assert s.key(base_key) == s.key(base_key)
    variants = [
        dataclasses.replace(s, packages=s.packages + ("curl",)),
        dataclasses.replace(s, cmd=("nginx",)),
        dataclasses.replace(s, files=s.files + (File("/etc/x", text="y"),)),
        dataclasses.replace(s, contract=dataclasses.replace(s.contract, uid=1)),
        dataclasses.replace(s, contract=Contract(0, "root", (Mode("nginx", "program", env_required=("X",)),),
                                                 "nginx")),
    ]
    keys = {v.key(base_key) for v in variants} | {s.key(base_key), s.key("another base")}
    assert len(keys) == len(variants) + 2
    before = s.key(base_key), BASE.key()
    monkeypatch.setattr(model, "BUILDER_VERSION", model.BUILDER_VERSION + 1)
    assert s.key(base_key) != before[0] and BASE.key() != before[1]


def test_key_follows_the_contents_of_source_files(tmp_path, monkeypatch):
    (tmp_path / "a.conf").write_text("one")
    monkeypatch.setattr(model, "FILES_DIR", tmp_path)
    s = dataclasses.replace(STANDINS[0], files=(File("/etc/a.conf", source="a.conf"),))
    first = s.key("b")
    (tmp_path / "a.conf").write_text("two")
    assert s.key("b") != first


def test_contract_document_shape():
    doc = contract_document(by_image()["ims-uwsgi:latest"], "registry.ebisc.org/ebisc")
    assert doc["reference"] == "registry.ebisc.org/ebisc/ims-uwsgi:latest"
    assert doc["user"] == {"name": "ims", "uid": 1001}
    assert doc["default"] == "uwsgi" and set(doc["modes"]) == {"uwsgi", "run-deploy", "run-ims-update"}
    deploy = doc["modes"]["run-deploy"]
    assert deploy["kind"] == "job" and deploy["needs"] == [{"host": "$DB_HOST", "port": 5432},
                                                           {"host": "$ES_HOST", "port": 9200}]
    assert deploy["writes"] == ["/var/www/ims/static"] and deploy["produce"][0]["path"].startswith("/var/www/ims/static/")
    assert "DB_PASS" in deploy["env"]["required"]
    text = contract_json(by_image()["ims-uwsgi:latest"], "registry.ebisc.org/ebisc")
    assert json.loads(text) == doc and text == contract_json(by_image()["ims-uwsgi:latest"], "registry.ebisc.org/ebisc")
    assert CONTRACT_PATH == "/usr/share/stoker-standin/contract.json"


def test_problems_are_found():
    s = dataclasses.replace(STANDINS[0], image="Nginx", commands=("nope",),
                            contract=Contract(5, "ghost", (Mode("a", "serve"), Mode("a", "weird",
                                                                                     needs=(Need("$X", 0),))), "b"))
    found = "\n".join(problems(s))
    for text in ("not name:tag", "declared twice", "default mode 'b'", "command 'nope'", "kind 'weird'",
                 "serving mode needs a port", "need $X:0", "names a variable that is not required",
                 "uid 5 has no account"):
        assert text in found

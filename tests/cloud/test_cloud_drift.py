"""The plan compares the config and the placement with the live server and its
volume: placement drift (flavor, image, network, address, security groups, key
pair) with what applying each takes, filesystem changes Ignition would refuse
on the existing data volume, owners and modes, and published ports that the
security groups do not open."""

from __future__ import annotations

import pytest
from cloud_testdata import DEVICE, data_url, placement_with, tracker_config

from stoker.cloud.diff import diff_configs, render
from stoker.cloud.filesystems import filesystem_mismatch
from stoker.cloud.live import Rule
from stoker.cloud.ports import parse_publish, rule_admits


def _deployed(fake, repo, stoker, doc=None):
    if doc is not None:
        repo.write_build(doc)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, out + err
    return fake.server_by_name("tracker")


def _place(repo, **fields):
    (repo.root / "fleet.yaml").write_text(placement_with(**fields))


def _rebuilds(fake):
    return [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]


# -- flavor: a resize, refused ----------------------------------------------------------

def test_a_flavor_change_is_shown_counted_and_refused_with_the_resize_to_do(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, flavor="m1.large")
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2, "a placement change is a change"
    assert "~ flavor: m1.medium → m1.large  (placement)" in out
    assert "the deploy refuses it: a resize" in out
    assert "openstack server resize --flavor m1.large tracker" in out
    before = len(fake.mutating_calls())
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step plan" in err and "flavor m1.medium → m1.large" in err
    assert "refused (the config itself is unchanged)" in out
    assert "openstack server resize confirm tracker" in err
    assert len(fake.mutating_calls()) == before, "refused before any change"


def test_a_flavor_change_is_seen_below_microversion_2_47_where_nova_gives_the_flavor_id(fake, repo, stoker):
    server = _deployed(fake, repo, stoker)
    fake.max_microversion = "2.46"
    _place(repo, flavor="m1.small")
    seen = len(fake.requests)
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "~ flavor: m1.medium → m1.small" in out
    reads = [r for r in fake.requests[seen:] if r.path.endswith(server["id"])]
    assert reads and all(r.microversion == "2.46" for r in reads), "the server came with its flavor's id"


def test_a_config_change_with_a_refused_placement_change_does_not_rebuild(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, flavor="m1.large")
    repo.write_build(tracker_config(image_tag="7.0"))
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "refused (it would rebuild server tracker" in out
    assert "~ image docker.io/library/mongo (changed)" in out, "the config diff is still shown"
    assert _rebuilds(fake) == []


# -- image: the rebuild applies it -------------------------------------------------------

def test_a_replaced_fedora_coreos_image_is_a_change_the_rebuild_applies(fake, repo, stoker):
    server = _deployed(fake, repo, stoker)
    old = server["image"]
    del fake.images[old]  # the cloud's operators uploaded a new image under the same name
    new = "0e5a7c1d-2b3f-4e6a-9c8d-7f6e5d4c3b2a"
    fake.images[new] = {"id": new, "name": "fedora-coreos-stable", "status": "active",
                        "disk_format": "qcow2", "visibility": "public"}
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2, "the config is unchanged, but the image is not"
    assert f"~ image: image {old} → fedora-coreos-stable {new}" in out
    assert "the Fedora CoreOS image itself changed" in out and "the rebuild applies it" in out
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len(_rebuilds(fake)) == 1 and _rebuilds(fake)[0].body["rebuild"]["imageRef"] == new
    assert fake.server_by_name("tracker")["image"] == new
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 0 and "no changes" in out


def test_another_image_named_in_the_placement_is_not_called_a_changed_image(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, image="fedora-coreos-next")
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2
    assert (f"~ image: fedora-coreos-stable {fake.image_id('fedora-coreos-stable')} → "
            f"fedora-coreos-next {fake.image_id('fedora-coreos-next')}") in out
    assert "itself changed" not in out


# -- network and address: refused -------------------------------------------------------

def test_a_network_change_is_refused_with_a_hint(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    fake.networks["n2"] = {"id": "n2", "name": "fleet-dmz", "status": "ACTIVE", "subnets": [],
                           "admin_state_up": True}
    _place(repo, network="fleet-dmz")
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "~ network: fleet-private → fleet-dmz" in out
    assert "a rebuild keeps the server's ports" in out
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "openstack server add network tracker fleet-dmz" in err
    assert _rebuilds(fake) == []


def test_a_fixed_address_change_is_refused_with_a_hint(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, address="10.0.0.14")
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "~ address: 10.0.0.13 → 10.0.0.14" in out
    before = len(fake.mutating_calls())
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "ip-address=10.0.0.14" in err and "set the address back to 10.0.0.13" in err
    assert len(fake.mutating_calls()) == before


# -- security groups: stoker applies them on the live server -----------------------------

def test_security_groups_are_added_and_removed_on_the_live_server_without_a_rebuild(fake, repo, stoker):
    server = _deployed(fake, repo, stoker)
    assert server["security_groups"] == ["default", "internal-web"]
    _place(repo, security_groups=["default", "public-web"])
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2
    assert "~ security groups: default, internal-web → default, public-web" in out
    assert "stoker applies it: a rebuild keeps the server's groups: stoker adds public-web; removes internal-web" in out
    code, out, _ = stoker("deploy", "tracker", "--dry-run")
    assert '/action  {"addSecurityGroup": {"name": "public-web"}}' in out
    assert '/action  {"removeSecurityGroup": {"name": "internal-web"}}' in out
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "update server tracker" in out
    assert fake.server_by_name("tracker")["security_groups"] == ["default", "public-web"]
    actions = [next(iter(r.body)) for r in fake.calls("POST", r"/action$")]
    assert actions[-2:] == ["addSecurityGroup", "removeSecurityGroup"], "added before removed"
    assert _rebuilds(fake) == [] and fake.violations == []
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 0 and "no changes" in out


def test_security_groups_change_before_a_rebuild_and_a_lost_answer_is_not_repeated(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, security_groups=["default", "internal-web", "public-web"])
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.fail_next("POST", r"/action$", 500, body_key="addSecurityGroup", after=True)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    adds = [r for r in fake.calls("POST", r"/action$") if "addSecurityGroup" in r.body]
    assert len(adds) == 1, "the group was added by the first call: not added again"
    order = [next(iter(r.body)) for r in fake.calls("POST", r"/action$")]
    assert order.index("addSecurityGroup") < order.index("rebuild")
    assert fake.server_by_name("tracker")["security_groups"] == ["default", "internal-web", "public-web"]


def test_a_security_group_that_does_not_exist_is_refused(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, security_groups=["default", "intranet"])
    code, out, err = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "security group intranet does not exist" in out
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "openstack security group create intranet" in err


# -- key pair: refused when the placement names another; a note when it names none --------

def test_a_key_pair_change_is_refused_with_a_hint(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    _place(repo, key_pair="ops-2026")
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "~ key pair: none → ops-2026" in out
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "--key-name ops-2026 tracker" in err
    assert _rebuilds(fake) == []


def test_a_key_pair_the_placement_does_not_name_is_a_warning_not_a_change(fake, repo, stoker):
    server = _deployed(fake, repo, stoker)
    server["key_name"] = "legacy-admins"
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 0 and "no changes" in out
    assert "warning: server tracker has key pair legacy-admins and the placement names none" in out


# -- the data volume's filesystem ------------------------------------------------------------

def _with_fs(**fields):
    doc = tracker_config()
    doc["storage"]["filesystems"][0].update(fields)
    for key in [k for k, v in fields.items() if v is None]:
        del doc["storage"]["filesystems"][0][key]
    return doc


@pytest.mark.parametrize("fields, why", [
    ({"format": "ext4"}, "format xfs → ext4"),
    ({"label": "tracker"}, "label 'data' → 'tracker'"),
    ({"uuid": "0b9d2d34-2c1f-4f0e-9a5b-1e2d3c4b5a69"}, "where the previous config set none"),
    ({"format": "none"}, "format xfs → none"),
])
def test_a_filesystem_change_ignition_would_refuse_is_refused_before_the_rebuild(fake, repo, stoker, fields, why):
    _deployed(fake, repo, stoker)
    repo.write_build(_with_fs(**fields))
    before = len(fake.mutating_calls())
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and why in err and "data volume tracker-data" in err
    assert "does not boot" in err and "never wipes" in err
    assert len(fake.mutating_calls()) == before
    code, _, err = stoker("plan", "tracker")
    assert code == 1 and why in err


@pytest.mark.parametrize("fields", [{"label": None}, {"options": ["-m", "reflink=1"]},
                                    {"mountOptions": ["noatime"]}])
def test_filesystem_changes_ignition_accepts_are_deployed(fake, repo, stoker, fields):
    _deployed(fake, repo, stoker)
    _deployed(fake, repo, stoker, _with_fs(**fields))
    assert len(_rebuilds(fake)) == 1


def test_a_new_data_volume_is_not_compared_with_the_old_ones_filesystem(fake, repo, stoker):
    _deployed(fake, repo, stoker)
    vid = fake.add_volume("tracker-data-ext4", 50)
    _place(repo, volume={"name": "tracker-data-ext4", "size": 50})
    repo.write_build(_with_fs(format="ext4", device=f"/dev/disk/by-id/virtio-{vid[:20]}"))
    code, out, err = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2, err


def test_ignition_filesystem_reuse_rules():
    xfs = {"device": DEVICE, "format": "xfs", "label": "data"}
    assert filesystem_mismatch(xfs, dict(xfs)) == []
    assert filesystem_mismatch(xfs, {**xfs, "label": None}) == [], "a label the config leaves out is not checked"
    assert filesystem_mismatch(xfs, {"device": DEVICE}) == [], "no format: Ignition leaves the device alone"
    assert filesystem_mismatch({"device": DEVICE, "format": "none"}, xfs) == [], "nothing was there"
    vfat = {"device": DEVICE, "format": "vfat", "uuid": "A1B2-C3D4"}
    assert filesystem_mismatch(vfat, {**vfat, "uuid": "a1b2c3d4"}) == [], "vfat ids compare without the dash"
    assert filesystem_mismatch(vfat, {**vfat, "uuid": "a1b2c3d5"}) == ["uuid A1B2-C3D4 → a1b2c3d5"]


# -- owners and modes ----------------------------------------------------------------------

def _with_dir(owner, mode, file_owner=None, file_mode=0o644):
    doc = tracker_config()
    doc["storage"]["directories"] = [{"path": "/var/mnt/data/mongodb_data", "mode": mode,
                                      "user": {"id": owner}, "group": {"id": owner}}]
    entry = doc["storage"]["files"][-1]
    entry["mode"] = file_mode
    if file_owner is not None:
        entry["user"] = {"id": file_owner}
    return doc


def test_directory_and_file_owner_and_mode_changes_are_shown(fake, repo, stoker):
    _deployed(fake, repo, stoker, _with_dir(184, 0o700))
    repo.write_build(_with_dir(185, 0o750, file_owner=1000, file_mode=0o640))
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2
    assert "~ directory /var/mnt/data/mongodb_data: owner 184 → 185, mode 0700 → 0750" in out
    assert "what is already inside keeps owner 184" in out
    assert "~ file /etc/tracker/config.yaml (changed)\n    owner root → 1000:root, mode 0644 → 0640" in out


def test_an_added_directory_shows_its_owner_and_mode():
    lines = render(diff_configs(tracker_config(), _with_dir(184, 0o700)))
    assert "+ directory /var/mnt/data/mongodb_data: owner 184, mode 0700" in lines


# -- published ports and security group rules ----------------------------------------------

def _with_quadlet(text: str, name: str = "nginx"):
    doc = tracker_config()
    doc["storage"]["files"].append({"path": f"/etc/containers/systemd/{name}.container", "mode": 0o644,
                                    "contents": {"source": data_url(text)}})
    return doc


NGINX = ("[Container]\nImage=docker.io/library/nginx:1.27\nPublishPort=443:8443\nPublishPort=80:8080/tcp\n"
         "PublishPort=127.0.0.1:9113:9113\nPublishPort=[::1]:9114:9114\nPublishPort=5000-5002:5000-5002/udp\n"
         "\n[Install]\nWantedBy=multi-user.target\n")


def test_published_ports_the_security_groups_do_not_open_are_warned_about(fake, repo, stoker):
    repo.write_build(_with_quadlet(NGINX))
    code, out, _ = stoker("plan", "tracker")
    assert code == 0
    groups = "security groups default, internal-web"
    assert (f"warning: port 443/tcp (nginx) is not opened by {groups} "
            "(only to servers in security group default)") in out
    assert f"warning: port 80/tcp (nginx) is not opened by {groups}" in out
    assert f"warning: ports 5000-5002/udp (nginx) are not opened by {groups}" in out
    warnings = [line for line in out.splitlines() if line.lstrip().startswith("warning:")]
    assert not [w for w in warnings if "9113" in w or "9114" in w], "loopback ports need no rule"
    assert not [w for w in warnings if "8080" in w], "internal-web opens 8080 (tracker's podman -p 8080:8080)"
    _place(repo, security_groups=["default", "public-web"])
    code, out, _ = stoker("plan", "tracker")
    assert "port 443/tcp" not in out and "port 80/tcp" not in out
    assert "port 8080/tcp (tracker) is not opened by security groups default, public-web" in out
    assert "ports 5000-5002/udp" in out


def test_a_rule_for_every_protocol_opens_every_port(fake, repo, stoker):
    repo.write_build(_with_quadlet(NGINX))
    assert "port 443/tcp (nginx) is not opened" in stoker("plan", "tracker")[1]
    fake.add_rule(fake.group_id("internal-web"), remote_ip_prefix="10.0.0.0/8")  # protocol None: any
    code, out, _ = stoker("plan", "tracker")
    assert code == 0 and "is not opened" not in out and "are not opened" not in out


@pytest.mark.parametrize("value, expected", [
    ("8080:80", [(8080, 8080, "tcp", "")]),
    ("0.0.0.0:443:8443/tcp", [(443, 443, "tcp", "0.0.0.0")]),
    ("10.0.0.13:53:53/tcp,udp", [(53, 53, "tcp", "10.0.0.13"), (53, 53, "udp", "10.0.0.13")]),
    ("[2001:db8::1]:8443:443", [(8443, 8443, "tcp", "2001:db8::1")]),
    ("6000-6005:6000-6005/udp", [(6000, 6005, "udp", "")]),
    ("127.0.0.1:9000:9000", []), ("[::1]:9000:9000", []), ("localhost:9000:9000", []),
    ("80", []), ("10.0.0.13::80", []), ("not:a:port:spec", []),
])
def test_publish_values_parse_as_podman_reads_them(value, expected):
    assert [(p.first, p.last, p.protocol, p.address) for p in parse_publish(value, "c")] == expected


def test_rules_match_by_direction_ethertype_protocol_and_port_range():
    def rule(**kw):
        base = dict(group="g", direction="ingress", ethertype="IPv4", protocol="tcp", port_min=80, port_max=90,
                    remote_ip_prefix="0.0.0.0/0", remote_group_id=None)
        return Rule(**{**base, **kw})
    assert rule_admits(rule(), 85, "tcp") and not rule_admits(rule(), 91, "tcp")
    assert not rule_admits(rule(), 85, "udp") and rule_admits(rule(protocol="6"), 85, "tcp")
    assert not rule_admits(rule(direction="egress"), 85, "tcp")
    assert not rule_admits(rule(ethertype="IPv6"), 85, "tcp") and rule_admits(rule(ethertype="IPv6"), 85, "tcp", True)
    assert rule_admits(rule(protocol=None, port_min=None, port_max=None), 5353, "udp")
    assert rule_admits(rule(port_min=None, port_max=None), 22, "tcp"), "no range: every port"
    assert rule_admits(rule(port_max=None, port_min=443), 443, "tcp")


def test_ports_published_by_podman_run_in_units_and_by_quadlet_drop_ins_are_found():
    from stoker.cloud.ports import published_ports

    doc = _with_quadlet("[Container]\nContainerName=web\nImage=docker.io/library/nginx:1.27\n")
    doc["storage"]["files"].append({"path": "/etc/containers/systemd/nginx.container.d/10-ports.conf",
                                    "contents": {"source": data_url("[Container]\nPublishPort=8443:443\n")}})
    doc["systemd"]["units"].append({"name": "metrics.service", "contents": (
        "[Service]\nExecStart=/usr/bin/podman run --rm --name=metrics \\\n  -p9100:9100 --publish 9101:9101 "
        "--publish=127.0.0.1:9102:9102 quay.io/prometheus/node-exporter:v1.8\n")})
    found = {(p.container, p.first, p.protocol) for p in published_ports(doc)}
    # The drop-in belongs to nginx.container, whose container is named web.
    assert found == {("web", 8443, "tcp"), ("tracker", 8080, "tcp"), ("metrics", 9100, "tcp"),
                     ("metrics", 9101, "tcp")}

import dataclasses

from stoker.boot.image import cached_image, load_image
from stoker.boot.mirror import debian_mirror, parse_deb822, parse_sources_list
from stoker.boot.recipe import File, offline_recipe


def test_cache_key_is_stable():
    assert offline_recipe().key() == offline_recipe().key()


def test_cache_key_changes_with_packages_and_patches():
    r = offline_recipe()
    assert dataclasses.replace(r, packages=r.packages + ("xfsprogs",)).key() != r.key()
    assert dataclasses.replace(r, files=r.files + (File("/etc/x", "y"),)).key() != r.key()
    assert dataclasses.replace(r, suite="forky").key() != r.key()


def test_recipe_has_the_documented_patches():
    r = offline_recipe()
    paths = {f.path: f for f in r.files}
    assert "SELINUX=disabled" in paths["/etc/selinux/config"].content
    assert paths["/etc/machine-id"].content == "uninitialized\n"
    assert "disable *" in paths["/usr/lib/systemd/system-preset/99-default.preset"].content
    assert "authorized_keys.d/ignition" in paths["/etc/ssh/sshd_config.d/40-ignition.conf"].content
    assert 'add_dracutmodules+=" ignition ignition-debian-fixups qemu "' in \
        paths["/etc/dracut.conf.d/50-stoker.conf"].content
    assert "qemu_fw_cfg" in paths["/etc/dracut.conf.d/50-stoker.conf"].content
    assert any(s.path.endswith("systemd-firstboot.service") and s.target == "/dev/null" for s in r.symlinks)
    for pkg in ("ignition", "podman", "dracut", "openssh-server", "gdisk", "e2fsprogs"):
        assert pkg in r.packages


def test_deb822_and_sources_list():
    text = ("Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
            "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")
    assert parse_deb822(text) == ["http://mirror.example/debian", "http://mirror.example/debian-security"]
    assert parse_sources_list("deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n"
                              "# deb http://old.example/debian x main\n") == ["http://m.example/debian"]


def test_mirror_from_files(tmp_path):
    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n")
    assert debian_mirror((sources,)) == "http://mirror.example/debian"


def test_incomplete_cache_dir_is_a_miss(tmp_path):
    (tmp_path / "manifest.json").write_text('{"ignition_max_spec": "3.3.0"}')
    (tmp_path / "vmlinuz").write_text("k")
    assert load_image(tmp_path) is None
    for name in ("initrd.img", "root.qcow2"):
        (tmp_path / name).write_text("x")
    assert load_image(tmp_path).ignition_max_spec == "3.3.0"
    assert cached_image(root=tmp_path / "nothing") is None


def test_the_image_makes_one_ed25519_host_key_not_rsa():
    """Debian's `ssh-keygen -A` (RSA 3072, ECDSA, ed25519) kept sshd down 2 to 5 minutes per TCG boot
    in the fleet test; the image's drop-in replaces it with one ed25519 key, the only one sshd loads."""
    paths = {f.path: f.content for f in offline_recipe().files}
    dropin = paths["/etc/systemd/system/sshd-keygen.service.d/50-stoker-ed25519.conf"]
    assert dropin.splitlines()[1:] == ["ExecStart=", 'ExecStart=ssh-keygen -q -t ed25519 -N "" '
                                                     "-f /etc/ssh/ssh_host_ed25519_key"]
    assert paths["/etc/ssh/sshd_config.d/10-stoker-hostkey.conf"] == "HostKey /etc/ssh/ssh_host_ed25519_key\n"

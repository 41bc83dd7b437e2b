"""The real Quadlet generator's dry run: from the host, from the cached image, or skipped."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest

from stoker.boot.image import cached_image, image_dir
from stoker.boot.recipe import offline_recipe
from stoker.podman.dryrun import Finding, parse_log, quadlet_dryrun

from podman_units import rendered_units

GOOD = "[Unit]\nDescription=web\n\n[Container]\nImage=registry.example.org/team/web:1.0\n\n[Service]\nRestart=always\n"
BAD = "[Container]\nImage=registry.example.org/team/web:1.0\nFoo=bar\n"


@pytest.fixture(scope="module")
def generator():
    """A dry run with whatever generator the default lookup finds; skips the test when there is none."""
    probe = quadlet_dryrun({"probe.container": GOOD})
    if probe.status == "skipped":
        pytest.skip(f"no Quadlet generator: {probe.reason}")
    return probe


def test_a_good_container_passes(generator):
    run = quadlet_dryrun({"web.container": GOOD})
    assert run.status == "ok", run.findings
    assert run.findings == ()
    assert "web.service" in run.services and "podman run" in run.services["web.service"]
    assert run.generator


def test_what_stoker_renders_passes(generator):
    run = quadlet_dryrun(rendered_units())
    assert run.status == "ok", run.findings
    assert [f for f in run.findings if f.severity == "error"] == []
    assert "app-network.service" in run.services


def test_an_unknown_key_fails_naming_the_file_and_the_key(generator):
    run = quadlet_dryrun({"web.container": GOOD, "bad.container": BAD})
    assert run.status == "failed"
    errors = [f for f in run.findings if f.severity == "error"]
    assert [f.file for f in errors] == ["bad.container"]
    assert "unsupported key 'Foo' in group 'Container'" in errors[0].message
    assert "/" not in errors[0].message  # never the temporary directory
    assert "web.service" in run.services


def test_a_missing_network_and_a_short_name(generator):
    run = quadlet_dryrun({"a.container": "[Container]\nImage=busybox\nNetwork=nope.network\n"})
    assert run.status == "failed"
    by_severity = {f.severity: f for f in run.findings}
    assert by_severity["error"].file == "a.container" and "nope.network" in by_severity["error"].message
    assert by_severity["warning"].file == "a.container" and "fully qualified" in by_severity["warning"].message


def test_a_cached_run_is_quick(generator):
    quadlet_dryrun({"web.container": GOOD})
    assert quadlet_dryrun({"web.container": GOOD}).seconds < 2.0


def test_no_host_generator_and_no_image_is_skipped_with_the_fix(tmp_path):
    run = quadlet_dryrun({"web.container": GOOD}, cache_root=tmp_path, host_generators=())
    assert run.status == "skipped"
    assert "not cached" in run.reason and str(tmp_path) in run.reason
    assert "make image" in run.reason
    assert run.findings == ()


def test_a_missing_tool_is_skipped_with_the_package_to_install(tmp_path, monkeypatch):
    fake = image_dir(offline_recipe(), tmp_path)
    fake.mkdir(parents=True)
    for name in ("vmlinuz", "initrd.img", "root.qcow2"):
        (fake / name).write_bytes(b"")
    (fake / "manifest.json").write_text('{"ignition_max_spec": "3.3.0"}')
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = quadlet_dryrun({"web.container": GOOD}, cache_root=tmp_path, host_generators=())
    assert run.status == "skipped"
    assert "`qemu-img` is not installed" in run.reason and "apt-get install qemu-utils" in run.reason


def test_the_hosts_generator_comes_first_and_paths_are_mapped_back(tmp_path):
    # a stand-in for the host's generator, speaking its log format
    fake = tmp_path / "quadlet"
    fake.write_text('#!/bin/sh\n'
                    'echo "quadlet-generator[7]: Loading source unit file $QUADLET_UNIT_DIRS/a.container" >&2\n'
                    'echo "quadlet-generator[7]: converting \\"a.container\\": unsupported key \'X\' in group '
                    '\'Container\' in $QUADLET_UNIT_DIRS/a.container" >&2\n'
                    'exit 1\n')
    fake.chmod(0o755)
    run = quadlet_dryrun({"a.container": GOOD}, host_generators=[str(tmp_path / "absent"), str(fake)],
                         cache_root=tmp_path)
    assert run.status == "failed"
    assert run.generator == f"the host's Quadlet ({fake})"
    assert run.findings == (Finding("a.container", "converting \"a.container\": unsupported key 'X' in group "
                                                   "'Container' in a.container", "error"),)


def test_a_path_outside_the_unit_directory_is_refused():
    with pytest.raises(ValueError):
        quadlet_dryrun({"../x.container": GOOD})


# --- the extraction cache beside the image --------------------------------------------------------

@pytest.fixture
def image_copy(tmp_path):
    """A cache root holding the real cached image through symlinks, with no extraction yet."""
    image = cached_image()
    if image is None:
        pytest.skip("the offline image is not cached (make image)")
    fake = image_dir(offline_recipe(), tmp_path)
    fake.mkdir(parents=True)
    for name in ("vmlinuz", "initrd.img", "root.qcow2", "manifest.json"):
        (fake / name).symlink_to(image.root.parent / name)
    first = quadlet_dryrun({"web.container": GOOD}, cache_root=tmp_path, host_generators=())
    if first.status == "skipped":
        pytest.skip(first.reason)
    return tmp_path, fake, first


def test_the_extraction_is_cached_beside_the_image(image_copy):
    root, fake, first = image_copy
    assert first.status == "ok"
    assert sorted(p.name for p in fake.iterdir()) == sorted(
        ["initrd.img", "manifest.json", "quadlet", "root.qcow2", "vmlinuz"])  # no raw disk, no work dir left
    assert sorted(p.name for p in (fake / "quadlet/lib").iterdir()) == ["ld-linux-x86-64.so.2", "libc.so.6"]
    again = quadlet_dryrun({"web.container": GOOD}, cache_root=root, host_generators=())
    assert again.status == "ok" and again.seconds < 1.0
    assert again.generator == first.generator


def test_a_stale_extraction_is_redone(image_copy):
    root, fake, _ = image_copy
    stamp = fake / "quadlet/stamp.json"
    stamp.write_text(stamp.read_text().replace('"size": ', '"size": 1'))
    assert quadlet_dryrun({"web.container": GOOD}, cache_root=root, host_generators=()).status == "ok"
    assert '"size": 1' not in stamp.read_text()


def test_an_image_directory_we_cannot_write_is_extracted_privately(image_copy, monkeypatch):
    import stoker.podman.fromimage as fromimage
    root, fake, _ = image_copy
    shutil.rmtree(fake / "quadlet")
    monkeypatch.setattr(fromimage, "_cache_workdir", lambda parent: None)
    run = quadlet_dryrun({"bad.container": BAD}, cache_root=root, host_generators=())
    assert run.status == "failed" and run.findings[0].file == "bad.container"
    assert not (fake / "quadlet").exists()


# --- reading the generator's log ----------------------------------------------------------------

def test_log_of_podman_5_4_joins_errors_with_newlines():
    log = ('quadlet-generator[9]: Loading source unit file /tmp/u/x.container\n'
           'quadlet-generator[9]: converting "x.container": unsupported key \'Imag\' in group \'Container\' '
           'in /tmp/u/x.container\n'
           'converting "y.container": requested Quadlet unit n.network was not found\n')
    assert parse_log(log, "/tmp/u", ["x.container", "y.container", "n.network"]) == [
        Finding("x.container", "converting \"x.container\": unsupported key 'Imag' in group 'Container' "
                               "in x.container", "error"),
        Finding("y.container", 'converting "y.container": requested Quadlet unit n.network was not found', "error"),
    ]


def test_log_of_podman_4_4_says_ignoring_and_still_counts_as_an_error():
    log = ("quadlet-generator[9]: Loading source unit file /tmp/u/x.container\n"
           "quadlet-generator[9]: Error converting 'x.container', ignoring: unsupported key 'HealthCmd' in group "
           "'Container' in /tmp/u/x.container\n"
           "quadlet-generator[9]: No files to parse from [/tmp/u]\n")
    assert parse_log(log, "/tmp/u", ["x.container"]) == [
        Finding("x.container", "Error converting 'x.container', ignoring: unsupported key 'HealthCmd' in group "
                               "'Container' in x.container", "error")]


def test_log_of_podman_5_8_has_warnings_and_a_summary():
    log = ('quadlet-generator[9]: Warning: using key User in the Service group is not supported - use at your '
           'own risk\n'
           'quadlet-generator[9]: Warning: z.container specifies the image "busybox" which not a fully qualified '
           'image name. ...\n'
           'quadlet-generator[9]: processing encountered some errors\n')
    found = parse_log(log, "/tmp/u", ["z.container"])
    assert [(f.file, f.severity) for f in found] == [(None, "warning"), ("z.container", "warning")]


# --- the generator inside a partitioned disk, found through symlinks ----------------------------

def test_extraction_from_a_partitioned_disk_through_symlinks(tmp_path, generator):
    image = cached_image()
    extracted = image.root.parent / "quadlet" if image else None
    if extracted is None or not (extracted / "quadlet").is_file():
        pytest.skip("needs the cached image's extraction to copy real binaries from")
    for tool in ("qemu-img", "mke2fs"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            pytest.skip(f"{tool} is not installed")
    # a Debian-like root: merged /usr, the loader behind two symlinks, the generator behind one
    root = tmp_path / "root"
    libdir = root / "usr/lib/x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    for lib in (extracted / "lib").iterdir():
        shutil.copy(lib, libdir / lib.name)
    (root / "usr/lib64").mkdir()
    (root / "usr/lib64/ld-linux-x86-64.so.2").symlink_to("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (root / "lib64").symlink_to("usr/lib64")
    (root / "usr/libexec/podman").mkdir(parents=True)
    shutil.copy(extracted / "quadlet", root / "usr/libexec/podman/quadlet-real")
    generators = root / "usr/lib/systemd/system-generators"
    generators.mkdir(parents=True)
    (generators / "podman-system-generator").symlink_to("../../../libexec/podman/quadlet-real")

    raw = tmp_path / "disk.raw"
    with open(raw, "wb") as fh:  # an MBR with one Linux partition at 1 MiB
        fh.truncate(32 << 20)
        entry = struct.pack("<BBBBBBBBII", 0, 0, 0, 0, 0x83, 0, 0, 0, 2048, (31 << 20) // 512)
        fh.seek(446)
        fh.write(entry)
        fh.seek(510)
        fh.write(b"\x55\xaa")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-E", "offset=1048576", "-d", str(root),
                    str(raw), "30M"], check=True, stdin=subprocess.DEVNULL, timeout=120)
    cache = tmp_path / "cache"
    fake = image_dir(offline_recipe(), cache)
    fake.mkdir(parents=True)
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(fake / "root.qcow2")], check=True,
                   stdin=subprocess.DEVNULL, timeout=120)
    for name in ("vmlinuz", "initrd.img"):
        (fake / name).write_bytes(b"")
    (fake / "manifest.json").write_text('{"ignition_max_spec": "3.3.0"}')

    run = quadlet_dryrun({"web.container": GOOD}, cache_root=cache, host_generators=())
    assert run.status == "ok", run.reason or run.findings
    assert str(fake / "quadlet") in run.generator
    stamp = (fake / "quadlet/stamp.json").read_text()
    assert "podman-system-generator" in stamp
    again = quadlet_dryrun({"bad.container": BAD}, cache_root=cache, host_generators=())
    assert again.status == "failed" and again.findings[0].file == "bad.container"

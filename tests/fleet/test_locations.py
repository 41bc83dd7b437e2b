"""Every problem is reported in the file the operator edits (a fragment, the VM
definition, a repository file), never at a line of the generated build/<vm>.bu
or of a temporary file; and a broken VM does not stop the others."""

from __future__ import annotations

import os
import shutil

import pytest

from stoker.cli import main

from .conftest import edit, line_col


def run(repo, capsys, *args) -> tuple[int, str]:
    rc = main([*args, "--root", str(repo)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return rc, captured.err + captured.out


def ignition(repo, capsys, *vms, extra=()):
    build = repo / "build"
    rc, out = run(repo, capsys, "ignition", *vms, "--build-dir", str(build), "--dev-secrets", *extra)
    return rc, out, build


def test_a_fragment_error_points_at_the_fragment_line(repo, capsys):
    (repo / "butane/extra.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/relative\n"
        "      contents: {inline: x}\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [selinux, extra]\nusers:\n")
    # A stale build of another definition must not be what the message points at.
    (repo / "build").mkdir()
    (repo / "build/tracker.bu").write_text("stale\n" * 40)
    rc, out, build = ignition(repo, capsys, "tracker")
    assert rc == 1
    assert "butane/extra.bu:5:13: path not absolute" in out
    assert "build/" not in out.replace(str(build), "<build>").replace("<build>", "")
    assert sorted(p.name for p in build.iterdir()) == ["tracker.bu"]  # untouched


def test_an_unused_key_in_a_fragment_is_a_warning_at_its_key(repo, capsys):
    (repo / "butane/extra.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n"
        "      contens: {inline: x}\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [extra]\nusers:\n")
    rc, out, _ = ignition(repo, capsys, "tracker")
    assert rc == 0
    assert "butane/extra.bu:6:7: warning: unused key contens" in out
    rc, out, _ = ignition(repo, capsys, "tracker", extra=("--strict",))
    assert rc == 1 and "butane/extra.bu:6:7: warning: unused key contens" in out


def test_a_warning_about_generated_content_points_at_the_definition(repo, capsys):
    # 777 without the leading zero is decimal 777 = octal 1411: Butane warns about it.
    f = repo / "vms/tracker.yaml"
    edit(f, "mongodb_data: {owner: 184, mode: 0700}", "mongodb_data: {owner: 184, mode: 777}")
    line, col = line_col(f, "mode: 777", offset=len("mode: "))
    rc, out, _ = ignition(repo, capsys, "tracker")
    assert rc == 0, out
    assert f"vms/tracker.yaml:{line}:{col}: warning:" in out
    assert "tracker.bu" not in out


def test_a_broken_vm_does_not_stop_another(repo, capsys):
    (repo / "vms/tracker.yaml").write_text("services: {web: {image: [unclosed\n")
    rc, out, build = ignition(repo, capsys, "bastion")
    assert rc == 0, out
    assert (build / "bastion.ign").exists()
    assert "tracker" in out  # mentioned as not rendered, with problems
    rc, out, _ = ignition(repo, capsys, "tracker")
    assert rc == 1 and "vms/tracker.yaml:2:1: not valid YAML" in out


def test_a_vm_that_extends_a_broken_one_is_broken_too(repo, capsys):
    edit(repo / "vms/ims.yaml", "    image: postgres:latest\n", "    image: postgres:latest\n    imag: x\n", )
    rc, out, _ = ignition(repo, capsys, "ims-staging")
    assert rc == 1
    assert "vms/ims-staging.yaml:3:10: extends 'ims', which has problems (see vms/ims.yaml)" in out
    rc, out, _ = ignition(repo, capsys, "tracker", "bastion")
    assert rc == 0


def test_all_problems_of_all_vms_in_one_run(repo, capsys):
    edit(repo / "vms/tracker.yaml", "    wants: [mongodb]", "    wants: [nosuch]")
    edit(repo / "vms/bastion.yaml", "    wants: [nginx]", "    wants: [nginxx]")
    (repo / "butane/journald.bu").write_text("variant: fcos\nversion: 1.4.0\nstorage: {files: [{path: x}]}\n")
    rc, out, build = ignition(repo, capsys)
    assert rc == 1
    assert "'nosuch'" in out and "'nginxx'" in out
    assert "butane/journald.bu:3:" in out and "path not absolute" in out
    assert not build.exists() or not list(build.iterdir())


def test_a_fleet_yaml_problem_stops_every_vm(repo, capsys):
    edit(repo / "fleet.yaml", "registry: registry.ebisc.org/ebisc\n", "registry: [not, a, string]\n")
    rc, out, build = ignition(repo, capsys, "bastion")
    assert rc == 1 and "fleet.yaml:" in out
    assert not build.exists()


@pytest.mark.parametrize("source,expected", [
    ("/etc/passwd", "must be a path relative to the repository root"),
    ("../outside.conf", "points outside the repository"),
    ("files/../../outside.conf", "points outside the repository"),
    ("files/link.conf", "is a symlink that points outside the repository"),
    ("files/bastion", "is a directory, not a file"),
    ("files/nosuch.conf", "does not exist in the repository"),
])
def test_file_sources_stay_inside_the_repository(repo, capsys, source, expected):
    (repo.parent / "outside.conf").write_text("the workstation's own file\n")
    os.symlink(repo.parent / "outside.conf", repo / "files/link.conf")
    f = repo / "vms/bastion.yaml"
    edit(f, "source: files/bastion/nginx/conf.d/30-aliases.conf", f"source: {source}")
    line, col = line_col(f, f"source: {source},", offset=len("source: "))
    rc, out, build = ignition(repo, capsys, "bastion")
    assert rc == 1
    assert f"vms/bastion.yaml:{line}:{col}: " in out and expected in out
    assert not build.exists()


def test_a_symlink_inside_the_repository_is_fine(repo, capsys):
    os.symlink("30-aliases.conf", repo / "files/bastion/nginx/conf.d/31-link.conf")
    edit(repo / "vms/bastion.yaml", "source: files/bastion/nginx/conf.d/30-aliases.conf",
         "source: files/bastion/nginx/conf.d/31-link.conf")
    rc, out, _ = ignition(repo, capsys, "bastion")
    assert rc == 0, out


def test_a_bad_timer_in_a_fragment_points_at_its_line_in_the_fragment(repo, capsys):
    (repo / "butane/extra.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: cleanup.timer\n      enabled: true\n"
        "      contents: |\n        [Timer]\n        OnCalendar=daily at 8\n"
        "        [Install]\n        WantedBy=timers.target\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [extra]\nusers:\n")
    rc, out, _ = ignition(repo, capsys, "tracker")
    assert rc == 1
    assert "butane/extra.bu:9:9: cleanup.timer line 2: OnCalendar=daily at 8:" in out


def test_a_quadlet_typo_in_a_fragment_points_at_its_line(repo, capsys):
    (repo / "butane/extra.bu").write_text(
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/containers/systemd/web.container\n"
        "      contents:\n        inline: |\n          [Container]\n          Image=registry.example/web:1\n"
        "          PublishPorts=80:80\n")
    edit(repo / "vms/tracker.yaml", "users:\n", "fragments: [extra]\nusers:\n")
    rc, out, _ = ignition(repo, capsys, "tracker")
    assert rc == 1
    assert ("butane/extra.bu:10:11: web.container line 3: unknown key 'PublishPorts' in [Container]; "
            "did you mean 'PublishPort'?") in out


def _snapshot(build):
    return {p.name: p.read_bytes() for p in build.iterdir() if p.is_file()}


@pytest.mark.parametrize("breakage", ["build is a file", "tracker.ign is a directory", "disk full"])
def test_a_build_directory_that_cannot_take_the_files_is_left_as_it_was(repo, capsys, monkeypatch, breakage):
    rc, out, build = ignition(repo, capsys)
    assert rc == 0
    edit(repo / "vms/tracker.yaml", "Tracker MongoDB", "Tracker MongoDB (changed)")
    edit(repo / "vms/bastion.yaml", "Public reverse proxy (HTTP 80, HTTPS 443)", "Proxy (changed)")
    if breakage == "build is a file":
        shutil.rmtree(build)
        build.write_text("not a directory\n")
    elif breakage == "tracker.ign is a directory":
        (build / "tracker.ign").unlink()
        (build / "tracker.ign").mkdir()
    else:
        import tempfile
        real, calls = tempfile.mkstemp, []

        def full_after_three(*a, **kw):
            calls.append(a)
            if len(calls) > 3:
                raise OSError(28, "No space left on device")
            return real(*a, **kw)
        monkeypatch.setattr(tempfile, "mkstemp", full_after_three)
    before = _snapshot(build) if build.is_dir() else build.read_text()
    rc, out, _ = ignition(repo, capsys)
    assert rc == 1 and "cannot write" in out and "nothing in" in out
    after = _snapshot(build) if build.is_dir() else build.read_text()
    assert after == before
    assert not [p for p in (build.iterdir() if build.is_dir() else []) if p.name.startswith(".")]

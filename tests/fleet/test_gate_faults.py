"""Faults found by trying the gates as a new operator would, one test each:
every one is now refused (or accepted) with a located message, no traceback,
no secret value, nothing half-written."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import os
from urllib.parse import quote

import pytest

from stoker.cli import main

from .conftest import ROOT, edit, line_col


def run(capsys, *args) -> tuple[int, str]:
    try:
        rc = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return rc, text


def render(repo, capsys, vm="tracker", *extra):
    return run(capsys, "ignition", vm, "--root", str(repo), "--build-dir", str(repo / "build"), "--dev-secrets",
               *extra)


@pytest.fixture
def no_tools(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    import stoker.podman.dryrun as dryrun
    monkeypatch.setattr(dryrun, "quadlet_dryrun", functools.partial(dryrun.quadlet_dryrun, host_generators=()))


def ign(tmp_path, config) -> str:
    path = tmp_path / "config.ign"
    path.write_text(json.dumps(config))
    return str(path)


def v33(**sections):
    return {**sections, "ignition": {"version": "3.3.0", **sections.get("ignition", {})}}


def data_url(text: bytes, gz=False) -> dict:
    if gz:
        return {"source": "data:;base64," + base64.b64encode(gzip.compress(text)).decode(), "compression": "gzip"}
    return {"source": "data:," + quote(text)}


# -- YAML that once ended in a traceback -----------------------------------------------------

@pytest.mark.parametrize("file,old,new,needle", [
    ("vms/tracker.yaml", "    description: Tracker MongoDB\n", "    <<: {description: merged}\n", "<<:"),
    ("fleet.yaml", "  ims: {address: 10.10.0.11}", "  ims: {<<: {address: 10.10.0.11}}", "<<:"),
    ("butane/journald.bu", "storage:\n", "<<: {}\nstorage:\n", "<<:"),
])
def test_a_yaml_merge_key_is_a_located_error(repo, capsys, file, old, new, needle):
    edit(repo / file, old, new)
    line, col = line_col(repo / file, needle)
    rc, out = render(repo, capsys)
    assert rc == 1 and f"{file}:{line}:{col}: YAML merge keys (<<) are not supported" in out


@pytest.mark.parametrize("tagged", ["!Ref Tracker", "!!binary aGVsbG8=", "!!python/name:os.system x"])
def test_a_yaml_tag_in_a_definition_is_a_located_error(repo, capsys, tagged):
    edit(repo / "vms/tracker.yaml", "description: Tracker MongoDB", f"description: {tagged}")
    rc, out = render(repo, capsys)
    assert rc == 1 and "vms/tracker.yaml:" in out and "is not supported here" in out


@pytest.mark.parametrize("text,expected", [
    ("tracker:\n  IMS_PASS: hunter2\n  <<: {MONGODB_PASS: hunter2}\n", "secrets.yaml:3:3: YAML merge keys"),
    ("tracker:\n  IMS_PASS: !!python/name:os.system hunter2\n", "secrets.yaml:2:13: YAML tags"),
    ("tracker:\n  IMS_PASS: !!binary aHVudGVyMg==\n", "secrets.yaml:2:13: YAML tags"),
])
def test_a_secrets_file_with_merge_keys_or_tags_is_refused_without_its_values(tmp_path, capsys, text, expected):
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    path.chmod(0o600)
    rc, out = run(capsys, "ignition", "tracker", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"),
                  "--secrets", str(path))
    assert rc == 1 and expected in out.replace(str(tmp_path) + "/", "")
    assert "hunter2" not in out and "aHVudGVyMg" not in out


def test_secrets_keep_the_text_as_written(tmp_path):
    from stoker.fleet.secrets import load_secrets

    path = tmp_path / "secrets.yaml"
    path.write_text("tracker:\n  A: 0123\n  B: 0x1F\n  C: yes\n  D: 1_000\n  E: 12:30:00\n  F: 1e3\n  G: ~\n")
    values = load_secrets(path, environ={}).file_values["tracker"]
    assert values == {"A": "0123", "B": "0x1F", "C": "yes", "D": "1_000", "E": "12:30:00", "F": "1e3"}


def test_environment_values_keep_the_text_as_written(repo, capsys):
    edit(repo / "vms/tracker.yaml", "      MONGODB_DATABASE: tracker\n",
         "      MONGODB_DATABASE: tracker\n      UMASK: 0077\n      DEBUG: yes\n")
    rc, _ = render(repo, capsys)
    assert rc == 0
    config = json.loads((repo / "build/tracker.ign").read_text())
    text = next(f for f in config["storage"]["files"] if f["path"].endswith("/mongodb.container"))
    from stoker.fleet.external import file_contents
    assert "Environment=UMASK=0077" in file_contents(text) and "Environment=DEBUG=yes" in file_contents(text)


# -- values that would break a unit -------------------------------------------------------------

@pytest.mark.parametrize("old,new,expected", [
    ("description: Tracker MongoDB", 'description: "Proxy\\n[Service]\\nExecStartPre=/bin/rm -rf /var"',
     "description contains the control character '\\n'"),
    ("{source: mongodb_data, target: /var/lib/mongodb/data, relabel: Z}",
     "{source: mongodb_data, target: '/var/lib/mongodb/data:rw', relabel: Z}", "contains ':' or ','"),
    ("      MONGODB_DATABASE: tracker\n", "      MONGODB_DATABASE: tracker\n      A B: x\n", "environment"),
    ('ports: ["80:8000"]', 'ports: ["٨٠:8000"]', "host port '٨٠' is not a number"),
])
def test_values_that_would_break_a_unit_are_refused(repo, capsys, old, new, expected):
    edit(repo / "vms/tracker.yaml", old, new)
    rc, out = render(repo, capsys)
    assert rc == 1 and "vms/tracker.yaml:" in out and expected in out


def test_exec_start_post_must_be_a_command_line(repo, capsys):
    edit(repo / "vms/bastion.yaml", '"-/usr/bin/podman kill --signal HUP nginx"]', '"@@@ bad"]')
    rc, out = render(repo, capsys, "bastion")
    assert rc == 1 and "exec_start_post '@@@ bad' is not a command line" in out


def test_name_limits_count_the_drop_in_directory(repo, capsys):
    f = repo / "vms/tracker.yaml"
    for length, rc_expected in ((244, 1), (243, 0)):
        text = f.read_text().replace("mongodb-restore:", "j" * length + ":")
        f.write_text(text)
        rc, out = render(repo, capsys)
        assert rc == rc_expected, out
        f.write_text(text.replace("j" * length + ":", "mongodb-restore:"))


def test_network_quadlet_keys_are_checked_against_the_target(repo, capsys):
    edit(repo / "fleet.yaml", 'podman: "5.8"', 'podman: "4.6"')
    rc, out = render(repo, capsys)
    assert rc == 1 and "key 'NetworkName' in [Network] needs Podman 4.7, the target has 4.6" in out


def test_owner_beyond_32_bits_is_a_definition_error(repo, capsys):
    edit(repo / "vms/tracker.yaml", "mongodb_data: {owner: 184, mode: 0700}",
         "mongodb_data: {owner: 9223372036854775808, mode: 0700}")
    rc, out = render(repo, capsys)
    assert rc == 1 and "vms/tracker.yaml:" in out and "tracker.bu" not in out


# -- fleet.yaml -----------------------------------------------------------------------------

@pytest.mark.parametrize("old,new,expected", [
    ("registry: registry.ebisc.org/ebisc", "registry: Registry.Ebisc.org/EBISC", "cannot start an image reference"),
    ("ims: {address: 10.10.0.11}", "ims: {address: 10.10.0.999}", "is not an IP address"),
])
def test_fleet_values_are_checked_at_their_line(repo, capsys, old, new, expected):
    edit(repo / "fleet.yaml", old, new)
    line, _ = line_col(repo / "fleet.yaml", new)
    rc, out = render(repo, capsys, "bastion")
    assert rc == 1 and f"fleet.yaml:{line}:" in out and expected in out


def test_template_references_that_are_unclosed(repo, capsys):
    conf = repo / "files/bastion/nginx/conf.d/10-cells.conf"
    conf.write_text(conf.read_text() + "# {{ hosts.ims.address\n")
    rc, out = render(repo, capsys, "bastion")
    assert rc == 1
    assert "files/bastion/nginx/conf.d/10-cells.conf:" in out and "does not start a reference" in out


def test_a_site_that_holds_a_line_break_is_refused_at_its_line(repo, capsys):
    edit(repo / "fleet.yaml", "  tracker: tracker.ebisc.org", '  tracker: "tracker.ebisc.org\\nevil"')
    line, _ = line_col(repo / "fleet.yaml", '"tracker.ebisc.org')
    (repo / "files/bastion/nginx/conf.d/30-aliases.conf").write_text("server_name {{ sites.tracker }};\n")
    rc, out = render(repo, capsys, "bastion")
    assert rc == 1
    assert f"fleet.yaml:{line}:" in out and "sites.tracker" in out and "a DNS host name" in out


def test_a_default_fragment_problem_points_at_fleet_yaml(repo, capsys):
    (repo / "butane/journald.bu").unlink()
    (repo / "butane/journald.bu").mkdir()
    line, col = line_col(repo / "fleet.yaml", "journald")
    rc, out = render(repo, capsys)
    assert rc == 1 and f"fleet.yaml:{line}:" in out and "is a directory, not a Butane file" in out


@pytest.mark.parametrize("header", ["variant: fcos\nversion: banana\n", "variant: fcos\n", "version: 1.4.0\n",
                                    "variant: flatcar\nversion: 1.4.0\n"])
def test_a_fragment_is_a_butane_document(repo, capsys, header):
    f = repo / "butane/journald.bu"
    body = f.read_text().split("version: 1.4.0\n", 1)[1]
    f.write_text(header + body)
    rc, out = render(repo, capsys)
    assert rc == 1 and "butane/journald.bu:" in out and "fragment" in out


def test_hidden_files_in_vms_are_not_vms(repo, capsys):
    os.symlink("root@host.1:1", repo / "vms/.#tracker.yaml")
    (repo / "vms/.swap.yaml").write_text("not: [a vm\n")
    rc, out = run(capsys, "ignition", "--all", "--root", str(repo), "--build-dir", str(repo / "build"),
                  "--dev-secrets")
    assert rc == 0, out


def test_schema_and_value_problems_of_one_file_are_reported_together(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    read_only: true\n    tmpfs: [/tmp]\n    ports:", "    read_onyl: true\n    tmpfs: [/tmp]\n    ports:")
    edit(f, 'on_calendar: "*-*-* 07,13:00:00"', 'on_calendar: "daily at 8"')
    rc, out = render(repo, capsys)
    assert rc == 1 and "unknown key 'read_onyl'" in out and "on_calendar 'daily at 8'" in out


def test_line_100_is_not_an_emoji(repo, capsys):
    f = repo / "vms/tracker.yaml"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:2] + ["#"] * (100 - len(lines)) + lines[2:]) + "\n")
    edit(f, 'on_calendar: "*-*-* 08:00:00"', 'on_calendar: "daily at 8"')
    rc, out = render(repo, capsys)
    assert rc == 1 and "\U0001f4af" not in out and ":100:" in out


# -- the command line ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [["validate", "tracker", "--podman", "banana"], ["validate", "nosuchvm"],
                                  ["ignition", "nosuchvm", "--dev-secrets"]])
def test_usage_errors_exit_2(capsys, args):
    rc, out = run(capsys, *args, "--root", str(ROOT))
    assert rc == 2, out


def test_ctrl_c_exits_130_with_one_line(capsys, monkeypatch):
    import stoker.fleet.cli as fleet_cli

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(fleet_cli, "cmd_list", interrupted)
    rc, out = run(capsys, "list", "--root", str(ROOT))
    assert rc == 130 and out.strip() == "stoker: interrupted"


# -- stoker validate FILE.ign --------------------------------------------------------------------

def test_a_quadlet_drop_in_is_checked(no_tools, tmp_path, capsys):
    good = b"[Container]\nImage=registry.example/a:1\n"
    config = v33(storage={"files": [
        {"path": "/etc/containers/systemd/a.container", "contents": data_url(good)},
        {"path": "/etc/containers/systemd/a.container.d/10.conf", "contents": data_url(b"[Container]\nBogus=1\n")}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 1 and "(a.container.d/10.conf line 2): unknown key 'Bogus' in [Container]" in out


def test_a_container_without_image_fails(no_tools, tmp_path, capsys):
    config = v33(storage={"files": [{"path": "/etc/containers/systemd/a.container",
                                     "contents": data_url(b"[Container]\nExec=/bin/true\n")}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 1 and "no Image= or Rootfs=: Quadlet refuses the file" in out


def test_two_quadlet_files_that_make_one_service_fail(no_tools, tmp_path, capsys):
    text = b"[Container]\nImage=registry.example/a:1\n"
    config = v33(storage={"files": [{"path": f"/etc/containers/systemd/{d}/x.container", "contents": data_url(text)}
                                    for d in ("a", "b")]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 1 and "a/x.container and b/x.container both become x.service" in out


def test_a_unit_written_as_a_file_is_checked(no_tools, tmp_path, capsys):
    config = v33(storage={"files": [{"path": "/etc/systemd/system/a.timer",
                                     "contents": data_url(b"[Timer]\nOnCalendar=*-*-* 25:00:00\n")}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 1 and "hour 25 is out of range" in out


@pytest.mark.parametrize("contents,expected", [
    ({"source": "data:;base64," + base64.b64encode(b"not gzip").decode(), "compression": "gzip"},
     "compression is gzip but the data is not gzip"),
    ({**data_url(b"hello\n"), "verification": {"hash": "sha512-" + hashlib.sha512(b"other").hexdigest()}},
     "hash verification failed"),
])
def test_inline_data_that_fails_at_boot_fails_now(no_tools, tmp_path, capsys, contents, expected):
    rc, out = run(capsys, "validate", ign(tmp_path, v33(storage={"files": [{"path": "/etc/a", "contents": contents}]})))
    assert rc == 1 and expected in out


def test_a_matching_hash_and_real_gzip_pass(no_tools, tmp_path, capsys):
    contents = {**data_url(b"hello\n", gz=True), "verification": {"hash": "sha512-" + hashlib.sha512(b"hello\n").hexdigest()}}
    rc, out = run(capsys, "validate", ign(tmp_path, v33(storage={"files": [{"path": "/etc/a", "contents": contents}]})))
    assert rc == 0, out


def test_what_cannot_be_checked_is_a_warning(no_tools, tmp_path, capsys):
    config = v33(ignition={"config": {"merge": [{"source": "https://example.com/x.ign"}]}},
                 storage={"files": [{"path": "/etc/containers/systemd/a.container",
                                     "contents": {"source": "https://example.com/a.container"}}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 0 and "fetched at boot from https://example.com/x.ign; not checked" in out
    assert "not checked: its contents come from https://example.com/a.container" in out
    rc, _ = run(capsys, "validate", ign(tmp_path, config), "--strict")
    assert rc == 1


def test_an_inline_merged_config_is_checked(no_tools, tmp_path, capsys):
    child = json.dumps(v33(storage={"files": [{"path": "relative"}]})).encode()
    rc, out = run(capsys, "validate", ign(tmp_path, v33(ignition={"config": {"merge": [data_url(child)]}})))
    assert rc == 1 and "merge 0: Ignition 3.3.0 (stoker)" in out and "path not absolute" in out


def test_tools_that_hang_or_crash_are_skipped_not_ok(tmp_path, capsys, monkeypatch):
    import stoker.fleet.validation as validation

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ignition-validate").write_text("#!/bin/sh\nsleep 30\n")
    (bin_dir / "systemd-analyze").write_text("#!/bin/sh\nkill -SEGV $$\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(validation, "TOOL_TIMEOUT", 1)
    config = v33(systemd={"units": [{"name": "a.service", "contents": "[Service]\nExecStart=/bin/true\n"}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert "ignition-validate did not answer within 1s" in out
    assert "systemd-analyze crashed (signal 11)" in out
    rc, _ = run(capsys, "validate", ign(tmp_path, config), "--strict")
    assert rc == 1


def test_a_vm_file_name_that_is_no_host_name(repo, capsys):
    (repo / "vms/tracker.yaml").rename(repo / "vms/Tracker_1.yaml")
    rc, out = render(repo, capsys, "Tracker_1")
    assert rc == 1 and "vms/Tracker_1.yaml: the file name is the VM's name and host name" in out
    assert "expected form" not in out


def test_secrets_nobody_asks_for_are_warnings(tmp_path, capsys):
    path = tmp_path / "secrets.yaml"
    path.write_text("trackr:\n  X: 1\nbastion:\n  MONGODB_PASWORD: a\n  HTPASSWD_CELLS_STAGE: 'u:x'\n")
    path.chmod(0o600)
    args = ["ignition", "bastion", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"), "--secrets", str(path)]
    rc, out = run(capsys, *args)
    out = out.replace(str(tmp_path) + "/", "")
    assert rc == 0
    assert "secrets.yaml:1:1: warning: VM 'trackr' is not in the fleet; did you mean 'tracker'?" in out
    assert "secrets.yaml:4:3: warning: bastion.MONGODB_PASWORD is not a secret of VM bastion" in out
    assert run(capsys, *args, "--strict")[0] == 1


def test_a_secret_with_a_line_break_names_where_it_came_from(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STOKER_SECRET_TRACKER_IMS_PASS", "two\nlines")
    rc, out = run(capsys, "ignition", "tracker", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"),
                  "--dev-secrets")
    line, col = line_col(ROOT / "vms/tracker.yaml", "IMS_PASS")
    assert rc == 1 and (f"vms/tracker.yaml:{line}:{col}: secret IMS_PASS of VM tracker (from environment variable "
                        "STOKER_SECRET_TRACKER_IMS_PASS) contains a line break") in out
    assert "two\nlines" not in out


# -- second review ----------------------------------------------------------

def test_an_ordering_cycle_between_services_is_refused_at_the_after_line(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    description: Tracker MongoDB\n",
         "    description: Tracker MongoDB\n    after: [tracker-webserver]\n")
    rc, out = render(repo, capsys)
    line, col = line_col(f, "[tracker-webserver]")
    assert rc == 1 and f"vms/tracker.yaml:{line}:{col}: ordering cycle: mongodb.service → " \
                      "tracker-webserver.service → mongodb.service" in out
    assert not (repo / "build" / "tracker.ign").exists()


def test_an_ordering_cycle_in_a_plain_config_fails_validation(tmp_path, capsys):
    units = [{"name": "a.service", "enabled": True, "contents": "[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/true\n"
              "[Install]\nWantedBy=multi-user.target\n"},
             {"name": "b.service", "enabled": True, "contents": "[Unit]\nBefore=c.service\nAfter=a.service\n[Service]\n"
              "ExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"},
             {"name": "c.service", "contents": "[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/true\n"}]
    rc, out = run(capsys, "validate", ign(tmp_path, v33(systemd={"units": units})))
    assert rc == 1 and "ordering cycle: a.service → b.service → a.service" in out
    assert "c.service →" not in out, "b before c and c after b is one ordering, not a cycle"


@pytest.mark.parametrize("version", ["3.0.0", "3.3.0", "3.6.0"])
def test_an_entry_under_a_file_fails_validation(tmp_path, capsys, version):
    config = {"ignition": {"version": version},
              "storage": {"files": [{"path": "/etc/foo"}], "directories": [{"path": "/etc/foo/bar"}]}}
    rc, out = run(capsys, "validate", "--strict", ign(tmp_path, config))
    assert rc == 1 and "$.storage.directories.0.path: /etc/foo/bar is under /etc/foo" in out


def test_an_entry_under_a_file_of_a_fragment_is_refused_at_render(repo, capsys):
    f = repo / "butane/sshd.bu"
    text = f.read_text()
    at = text.index("    - path: /etc/ssh/sshd_config.d/40-stoker.conf")
    f.write_text(text[:at] + "    - path: /etc/ssh/sshd_config.d/40-stoker.conf/sub\n      mode: 0644\n" + text[at:])
    rc, out = render(repo, capsys)
    assert rc == 1 and "/etc/ssh/sshd_config.d/40-stoker.conf/sub is under /etc/ssh/sshd_config.d/40-stoker.conf" in out
    assert "butane/sshd.bu:" in out


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0", "3.2.0"])
@pytest.mark.parametrize("link", [{"path": "/etc/l"}, {"path": "/etc/l", "target": ""}])
def test_a_link_without_a_target_fails_validation_on_every_spec(tmp_path, capsys, version, link):
    rc, out = run(capsys, "validate", ign(tmp_path, {"ignition": {"version": version}, "storage": {"links": [link]}}))
    assert rc == 1 and "$.storage.links.0.target: the link has no target" in out


def test_a_nul_in_a_path_and_an_id_beyond_32_bits_fail_validation(tmp_path, capsys):
    config = v33(storage={"files": [{"path": "/etc/f\0o"}, {"path": "/etc/x", "user": {"id": 1 << 40}}]},
                 passwd={"users": [{"name": "app", "uid": 1 << 32}]})
    rc, out = run(capsys, "validate", ign(tmp_path, config))
    assert rc == 1
    assert "$.storage.files.0.path: the path holds a NUL character" in out
    assert "$.storage.files.1.user.id: 1099511627776 is beyond Linux's 32-bit" in out and "read it as 0" in out
    assert "$.passwd.users.0.uid: 4294967296 is beyond" in out


def test_file_contents_fetched_at_boot_are_a_warning_and_fail_strict(tmp_path, capsys):
    path = ign(tmp_path, v33(storage={"files": [{"path": "/etc/x", "contents": {"source": "http://example.com/x"}}]}))
    rc, out = run(capsys, "validate", path)
    assert rc == 0 and "$.storage.files.0.contents: fetched at boot from http://example.com/x" in out
    rc, out = run(capsys, "validate", "--strict", path)
    assert rc == 1


def test_nested_aliases_are_refused_quickly_instead_of_expanding(repo, capsys):
    f = repo / "vms/tracker.yaml"
    levels = ["x0: &a0 [" + ", ".join(["v"] * 9) + "]"]
    levels += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    f.write_text(f.read_text() + "\n" + "\n".join(levels) + "\n")
    rc, out = render(repo, capsys)
    assert rc == 1 and "expands to more than 100,000 values through YAML aliases" in out


@pytest.mark.parametrize("text", ["users: !!python/object:os.Foo\n  core: {ssh_keys: [operators]}\n",
                                  "users: !custom\n  core: {ssh_keys: [operators]}\n",
                                  "users: !!set {a, b}\n"])
def test_a_tag_on_a_mapping_or_list_is_refused_at_its_line(repo, capsys, text):
    f = repo / "vms/tracker.yaml"
    body = f.read_text()
    start = body.index("users:")
    end = body.index("\n", body.index("core:", start))
    f.write_text(body[:start] + text.rstrip("\n") + body[end:])
    rc, out = render(repo, capsys)
    assert rc == 1 and "is not supported here" in out
    assert f"vms/tracker.yaml:{line_col(f, 'users:')[0]}:8" in out


def test_a_tag_on_a_secrets_file_section_is_refused(tmp_path, capsys):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("tracker: !!python/object:os.Foo\n  MONGODB_PASSWORD: x\n")
    secrets.chmod(0o600)
    rc, out = run(capsys, "ignition", "tracker", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"),
                  "--secrets", str(secrets))
    assert rc == 1 and f"{secrets}:1:10" in out and "YAML tags" in out


def test_a_directory_given_as_a_config_is_an_error_not_a_usage_error(tmp_path, capsys):
    rc, out = run(capsys, "validate", str(tmp_path))
    assert rc == 1 and "is a directory" in out


def test_the_verdict_does_not_depend_on_the_umask(capsys):
    import shutil

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    old = os.umask(0)
    try:
        rc, out = run(capsys, "validate", "tracker", "--root", str(ROOT))
    finally:
        os.umask(old)
    assert rc == 0 and "world-writable" not in out


def test_a_data_volume_other_than_the_placements_is_refused_at_render(repo, capsys):
    edit(repo / "fleet.yaml", "volume: {name: tracker-data, size: 50}", "volume: {name: tracker-data2, size: 50}")
    rc, out = render(repo, capsys)
    line, col = line_col(repo / "vms/tracker.yaml", "by_volume: tracker-data")
    assert rc == 1 and f"vms/tracker.yaml:{line}:" in out
    assert "data volume 'tracker-data' of tracker is not the volume fleet.yaml placement attaches to it " \
           "('tracker-data2', line" in out

"""Rules of the other variants and versions that the reference vectors
(corpus-variants) do not show one by one (SPEC-VARIANTS §3-§6)."""

from __future__ import annotations

import pytest

from stoker.butane import translate


def doc(variant: str, version: str, body: str) -> str:
    return f"variant: {variant}\nversion: {version}\n{body}"


def messages(result) -> list[tuple[str, str, str]]:
    return [(e.kind, ".".join(map(str, e.path or ())), e.message) for e in result.report]


@pytest.mark.parametrize("variant,version", [("r4e", "1.0.0"), ("fiot", "1.1.0-experimental")])
def test_empty_filtered_fields_pass(variant, version):
    # empty lists and empty structs are "empty" for the filters
    result = translate(doc(variant, version, "kernel_arguments: {}\nstorage:\n  disks: []\n"))
    assert result.ok, messages(result)


def test_filter_on_a_field_inside_list_items_reports_each_item():
    result = translate(doc("flatcar", "1.1.0", """\
storage:
  luks:
    - name: a
      device: /dev/vdb
      clevis: {tpm2: false}
    - name: b
      device: /dev/vdc
    - name: c
      device: /dev/vdd
      clevis: {tpm2: true}
"""))
    assert not result.ok
    # a set pointer is not empty, even to false
    assert messages(result) == [
        ("error", "storage.luks.0.clevis", "clevis is not supported in this spec version"),
        ("error", "storage.luks.2.clevis", "clevis is not supported in this spec version"),
    ]


def test_filters_run_after_source_and_translation_errors():
    result = translate(doc("r4e", "1.1.0", """\
storage:
  disks: [{device: /dev/vdb}]
  files:
    - path: /etc/a
      contents: {inline: a, source: "https://example.com/a"}
"""))
    assert [m[1] for m in messages(result)] == ["storage.files.0.contents.source"]


def test_fcos_only_sections_are_unused_keys_elsewhere():
    result = translate(doc("fiot", "1.0.0", "grub:\n  users: [{name: root, password_hash: x}]\n"))
    assert result.ok
    assert messages(result) == [("warning", "grub", "unused key grub")]


def test_no_fcos_checks_in_flatcar():
    # fcos 1.6+ would warn about the label-only partition and reject the mount path
    result = translate(doc("flatcar", "1.2.0-experimental", """\
storage:
  disks:
    - device: /dev/vdb
      partitions: [{label: data}]
  filesystems:
    - device: /dev/disk/by-partlabel/data
      path: /srv/data
      format: xfs
      with_mount_unit: true
"""))
    assert result.ok and messages(result) == []


def test_fcos_1_0_output_shape():
    result = translate(doc("fcos", "1.0.0", """\
storage:
  files: [{path: /etc/x, contents: {inline: "a b"}, append: [{inline: "\\u00e9"}]}]
"""))
    assert result.ok, messages(result)
    out = result.config
    assert out["ignition"]["version"] == "3.0.0"
    # always percent-encoded, never base64 or gzip, and no compression field
    assert out["storage"]["files"][0]["contents"] == {"source": "data:,a%20b"}
    assert out["storage"]["files"][0]["append"] == [{"source": "data:,%C3%A9"}]


@pytest.mark.parametrize("version,unused", [
    ("1.0.0", {"proxy", "mount_options", "trees", "luks", "local", "resize", "should_exist",
               "boot_device", "kernel_arguments"}),
    ("1.1.0", {"luks", "resize", "should_exist", "boot_device", "kernel_arguments"}),
    ("1.2.0", {"boot_device", "kernel_arguments"}),
    ("1.3.0", {"kernel_arguments"}),
])
def test_fields_of_later_fcos_versions_are_unused(version, unused):
    result = translate(doc("fcos", version, """\
ignition:
  proxy: {http_proxy: "http://p"}
kernel_arguments: {should_exist: [quiet]}
passwd:
  users: [{name: a, should_exist: true}]
storage:
  disks: [{device: /dev/vdb, wipe_table: true, partitions: [{number: 1, resize: true}]}]
  filesystems: [{device: /dev/vdb1, format: xfs, path: /var/x, mount_options: [ro]}]
  luks: [{name: x, device: /dev/vdc}]
  trees: [{local: t}]
  files: [{path: /etc/y, contents: {local: y}}]
boot_device: {layout: x86_64}
"""))
    got = {m[1].rsplit(".", 1)[-1] for m in messages(result) if m[2].startswith("unused key")}
    assert got == unused


def test_quadlet_on_a_tree_file_is_a_conflict(tmp_path):
    (tmp_path / "t" / "containers" / "systemd").mkdir(parents=True)
    (tmp_path / "t" / "containers" / "systemd" / "a.container").write_text("[Container]\n")
    result = translate(doc("fcos", "1.8.0-experimental", """\
storage:
  trees: [{local: t, path: /etc}]
systemd:
  quadlets: [{name: a.container, rootful: true, contents: "x"}]
"""), files_dir=tmp_path)
    assert messages(result) == [("error", "systemd.quadlets.0",
                                 "matching filesystem node has existing contents or different type")]


@pytest.mark.parametrize("name", ["../../../../x.conf", "a//b.conf", "./x.conf", "x.conf/", ""])
def test_a_quadlet_dropin_name_is_joined_as_is_and_a_dirty_path_fails_at_the_name(name):
    """Review fault: stoker cleaned drop-in paths, so `../../../../x.conf` wrote /etc/x.conf with
    exit 0. The official tool joins `<quadlet path>.d/<name>` without cleaning (v0_8_exp
    translate.go), and Ignition refuses the path at the drop-in's name."""
    result = translate(doc("fcos", "1.8.0-experimental", f"""\
systemd:
  quadlets:
    - name: web@8080.container
      dropins:
        - name: "{name}"
          contents: "a"
"""))
    assert not result.ok
    assert ("error", "systemd.quadlets.0.dropins.0.name", "path is not fully simplified") in messages(result)


def test_a_clean_quadlet_dropin_lands_beside_its_quadlet():
    result = translate(doc("fcos", "1.8.0-experimental", """\
systemd:
  quadlets:
    - name: web.container
      rootful: true
      contents: "[Container]\\n"
      dropins: [{name: 10-env.conf, contents: "[Container]\\n"}]
"""))
    assert result.ok, messages(result)
    paths = [f["path"] for f in result.config["storage"]["files"]]
    assert paths == ["/etc/containers/systemd/web.container", "/etc/containers/systemd/web.container.d/10-env.conf"]

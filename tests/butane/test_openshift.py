"""The openshift variant's rules that the reference vectors (corpus-variants 17-27)
do not pin down one by one: each rule at the first and last version that has it
(SPEC-VARIANTS §7.7), the raw mode, the report paths, and the Python API.
"""

from __future__ import annotations

import pytest
import yaml

from stoker.butane import translate
from stoker.butane.resources import decode_data_url

from corpus_util import run_stoker

ROLE = "machineconfiguration.openshift.io/role"


def doc(version: str, body: str = "") -> str:
    return (f"variant: openshift\nversion: {version}\nmetadata:\n  name: 99-test\n"
            f"  labels:\n    {ROLE}: worker\n" + body)


def report(result) -> list[str]:
    return [e.raw() for e in result.report]


def errors(result) -> list[str]:
    return [e.raw() for e in result.report if e.kind == "error"]


# -- FIPS cipher (4.8-4.19) ------------------------------------------------------------------

LUKS = """storage:
  luks:
    - name: a
      device: /dev/sda
    - name: b
      device: /dev/sdb
      options: [-c, aes-xts-plain64]
    - name: c
      device: /dev/sdc
      options: [--cipher=aes-xts-plain64]
    - name: d
      device: /dev/sdd
      options: [--key-size, "512"]
openshift:
  fips: {fips}
"""


@pytest.mark.parametrize("version", ["4.8.0", "4.19.0"])
def test_fips_cipher_is_added_where_no_cipher_is_named(version):
    result = translate(doc(version, LUKS.format(fips="true")))
    assert result.ok, report(result)
    options = [luks.get("options") for luks in result.config["storage"]["luks"]]
    assert options == [["--cipher", "aes-cbc-essiv:sha256"], ["-c", "aes-xts-plain64"],
                       ["--cipher=aes-xts-plain64"],
                       ["--key-size", "512", "--cipher", "aes-cbc-essiv:sha256"]]
    assert result.machine_config["spec"]["fips"] is True


@pytest.mark.parametrize("version,fips", [("4.19.0", "false"), ("4.20.0", "true"),
                                          ("4.23.0-experimental", "true")])
def test_no_fips_cipher_without_fips_or_from_4_20(version, fips):
    result = translate(doc(version, LUKS.format(fips=fips)))
    assert result.ok, report(result)
    assert [luks.get("options") for luks in result.config["storage"]["luks"]] == \
        [None, ["-c", "aes-xts-plain64"], ["--cipher=aes-xts-plain64"], ["--key-size", "512"]]


# -- compression (4.8/4.9) -------------------------------------------------------------------

INLINE = "storage:\n  files:\n    - path: /etc/big\n      contents:\n        inline: " + "a" * 400 + "\n"


@pytest.mark.parametrize("version,compression", [("4.8.0", ""), ("4.9.0", ""),
                                                 ("4.10.0", "gzip"), ("4.13.0", "gzip")])
def test_automatic_gzip_from_4_10(version, compression):
    result = translate(doc(version, INLINE))
    contents = result.config["storage"]["files"][0]["contents"]
    assert contents["compression"] == compression
    assert decode_data_url(contents["source"], compression) == b"a" * 400


@pytest.mark.parametrize("version,rejected", [("4.9.0", True), ("4.10.0", False)])
def test_compression_filter_ignores_an_empty_compression(version, rejected):
    body = ("storage:\n  files:\n    - path: /a\n      contents:\n        source: data:,x\n"
            "        compression: ''\n"
            "    - path: /b\n      contents:\n        source: data:;base64,H4sIAAAAAAAC/6oEBAAA//"
            "+3743yAQAAAA==\n        compression: gzip\n")
    result = translate(doc(version, body))
    if rejected:
        assert errors(result) == ["error at $.storage.files.1.contents.compression, line 16 "
                                  "col 22: file compression is not supported in this spec "
                                  "version"]
    else:
        assert result.ok, report(result)


# -- users and other filters -----------------------------------------------------------------

@pytest.mark.parametrize("version,ok", [("4.12.0", False), ("4.13.0", True),
                                        ("4.23.0-experimental", True)])
def test_password_hash_allowed_from_4_13(version, ok):
    result = translate(doc(version, "passwd:\n  users:\n    - name: core\n"
                                    "      password_hash: $y$x\n"))
    assert result.ok is ok, report(result)
    if not ok:
        assert errors(result) == [
            'error at $.passwd.users.0.password_hash, line 10 col 22: fields other than "name", '
            '"ssh_authorized_keys", and "password_hash" (4.13.0+) are not supported in this '
            "spec version"]


def test_a_set_zero_user_field_is_rejected():
    result = translate(doc("4.14.0", "passwd:\n  users:\n    - name: core\n      system: false\n"))
    assert [e.path for e in result.report] == [("passwd", "users", 0, "system")]


@pytest.mark.parametrize("version", ["4.8.0", "4.23.0-experimental"])
def test_raw_mode_skips_the_field_filters(version):
    body = "passwd:\n  groups:\n    - name: ops\nstorage:\n  directories:\n    - path: /etc/x\n"
    assert [e.message for e in translate(doc(version, body)).report] == [
        "groups are not supported in this spec version",
        "directories are not supported in this spec version"]
    result = translate(doc(version, body), raw=True)
    assert result.ok and not result.report
    assert result.config["passwd"]["groups"] == [{"name": "ops"}]


def test_kernel_arguments_section_is_unused_before_4_14():
    body = "kernel_arguments:\n  should_exist: [nosmt]\n"
    assert report(translate(doc("4.13.0", body))) == [
        "warning at $.kernel_arguments, line 7 col 1: unused key kernel_arguments"]
    assert errors(translate(doc("4.14.0", body))) == [
        "error at $.kernel_arguments, line 8 col 3: this section cannot be used for kernel "
        "arguments in this spec version; use openshift.kernel_arguments instead"]


# -- grub (4.14+) ------------------------------------------------------------------------------

GRUB = "grub:\n  users:\n    - name: root\n      password_hash: grub.pbkdf2.sha512.1\n"


def test_grub_is_an_unused_key_before_4_14():
    assert report(translate(doc("4.13.0", GRUB))) == [
        "warning at $.grub, line 7 col 1: unused key grub"]


def test_grub_append_becomes_contents_in_4_23():
    result = translate(doc("4.23.0-experimental", GRUB))
    assert result.ok
    user_cfg = result.config["storage"]["files"][0]
    assert "append" not in user_cfg and "mode" not in user_cfg
    assert decode_data_url(user_cfg["contents"]["source"]).startswith(b"# Generated by Butane")


def test_grub_file_with_a_second_append_is_left_alone_and_rejected():
    body = GRUB + "storage:\n  files:\n    - path: /boot/grub2/user.cfg\n      append:\n" \
                  "        - inline: extra\n"
    result = translate(doc("4.23.0-experimental", body))
    assert errors(result) == ["error at $.storage.files.0.append, line 15 col 9: appending to "
                              "files is not supported in this spec version"]


# -- RHCOS/MCO checks ------------------------------------------------------------------------

@pytest.mark.parametrize("version,message", [
    ("4.13.0", "config generated was invalid"),  # Ignition 3.2 rejects format none itself
    ("4.14.0", "source config is invalid"),
])
def test_format_none(version, message):
    result = translate(doc(version, "storage:\n  filesystems:\n    - device: /dev/sdb\n"
                                    "      format: none\n"))
    assert result.error == message
    assert [e.path for e in result.report] == [("storage", "filesystems", 0, "format")]


@pytest.mark.parametrize("version,ok", [("4.9.0", True), ("4.10.0", False)])
def test_special_mode_bits(version, ok):
    result = translate(doc(version, "storage:\n  files:\n    - path: /a\n      mode: 01755\n"))
    assert result.ok is ok
    if ok:  # Ignition 3.2 only warns
        assert [e.kind for e in result.report] == ["warning"]
    else:
        assert errors(result) == ["error at $.storage.files.0.mode, line 10 col 13: special "
                                  "mode bits are not supported in this spec version"]


def test_file_source_scheme():
    body = ("storage:\n  files:\n    - path: /a\n      contents:\n        source: DATA:,x\n"
            "    - path: /b\n      contents:\n        source: s3://bucket/b\n"
            "    - path: /c\n      contents:\n        source: http://[::1\n")
    result = translate(doc("4.14.0", body))
    # the scheme is read case-insensitively; an unparsable URL is left to Ignition
    assert errors(result) == ["error at $.storage.files.1.contents.source, line 14 col 17: file "
                              "contents source must be data URL in this spec version"]


def test_mco_checks_in_raw_mode_are_unmapped():
    body = "storage:\n  filesystems:\n    - device: /dev/sdb\n      format: btrfs\n"
    result = translate(doc("4.8.0", body), raw=True)
    assert errors(result) == ["error at $.spec.config.storage.filesystems.0.format, line 1 col 1: "
                              "btrfs is not supported in this spec version"]


# -- source checks -------------------------------------------------------------------------------

def test_kernel_type_values():
    for kernel_type in ('""', "default", "realtime"):
        assert translate(doc("4.8.0", f"openshift:\n  kernel_type: {kernel_type}\n")).ok
    result = translate(doc("4.8.0", "openshift:\n  kernel_type: rt\n"))
    assert errors(result) == ['error at $.openshift.kernel_type, line 8 col 16: must be empty, '
                              '"default", or "realtime"']


def test_cex_on_a_luks_root_needs_the_kernel_argument():
    body = "storage:\n  luks:\n    - name: root\n      device: /dev/dasda2\n      cex:\n" \
           "        enabled: true\n"
    result = translate(doc("4.19.0", body))
    assert [e.message for e in result.report] == [
        "'rd.luks.key=/etc/luks/cex.key' must be set as kernel argument when CEX is enabled "
        "for the boot device"]
    assert translate(doc("4.19.0", body + "openshift:\n  kernel_arguments:\n"
                                          "    - rd.luks.key=/etc/luks/cex.key\n")).ok
    assert report(translate(doc("4.18.0", body))) == [
        "warning at $.storage.luks.0.cex, line 11 col 7: unused key cex"]


def test_unknown_keys_in_openshift_sections():
    body = "openshift:\n  fips: true\n  kernel_args: [x]\n"
    assert report(translate(doc("4.14.0", body))) == [
        "warning at $.openshift.kernel_args, line 9 col 3: unused key kernel_args"]


# -- report paths of the fcos checks ------------------------------------------------------------

PARTITIONS = """boot_device:
  layout: x86_64
  mirror:
    devices: [/dev/sda, /dev/sdb]
storage:
  disks:
    - device: /dev/sdc
      partitions:
        - label: boot
"""


def test_partition_warnings_are_unmapped_in_a_machine_config_and_mapped_raw():
    """The MachineConfig's translation table sits below spec.config, so the fcos
    partition warnings keep their output path; a raw run maps them (config/util/util.go)."""
    message = "incorrect partition number; a new partition will be created using reserved label"
    mc = translate(doc("4.14.0", PARTITIONS))
    raw = translate(doc("4.14.0", PARTITIONS), raw=True)
    assert [(e.path, e.message) for e in mc.report] == [
        (("storage", "disks", 2, "partitions", 0, "label"), message)]
    assert [(e.path, e.message) for e in raw.report] == [
        (("storage", "disks", 0, "partitions", 0, "label"), message)]


# -- raw mode and the API ------------------------------------------------------------------------

def test_raw_warns_about_every_set_openshift_field():
    body = "openshift:\n  kernel_type: ''\n  fips: false\n  extensions: []\n  kernel_arguments: []\n"
    result = translate(doc("4.14.0", body), raw=True)
    assert [(e.path, e.message) for e in result.report] == [
        (("openshift", name), "field ignored in raw mode")
        for name in ("kernel_arguments", "extensions", "fips", "kernel_type")]
    assert translate(doc("4.14.0", body), raw=True, strict=True).error == \
        "Config produced warnings and --strict was specified"
    strict = translate(doc("4.13.0", GRUB), strict=True)  # an unused key under --strict
    assert strict.error == "Config produced warnings and --strict was specified"
    assert strict.config is None and strict.machine_config is None
    mc = translate(doc("4.14.0", body)).machine_config
    assert mc["spec"] == {"config": {"ignition": {"version": "3.4.0"}}, "fips": False,
                          "kernelType": ""}


def test_python_api_shapes():
    result = translate(doc("4.22.0", "openshift:\n  extensions: [usbguard]\n"))
    assert result.ok
    assert result.machine_config == {
        "apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
        "metadata": {"name": "99-test", "labels": {ROLE: "worker"}},
        "spec": {"config": {"ignition": {"version": "3.5.0"}}, "extensions": ["usbguard"]}}
    text = result.output(pretty=True)
    assert text == result.to_yaml() and text.startswith("# Generated by Butane; do not edit\n")
    assert yaml.safe_load(text) == result.machine_config
    assert result.to_json() == '{"ignition":{"version":"3.5.0"}}'
    fcos = translate("variant: fcos\nversion: 1.5.0\n", raw=True)
    assert fcos.machine_config is None and fcos.output() == fcos.to_json()
    with pytest.raises(ValueError):
        fcos.to_yaml()


def test_cli_pretty_has_no_effect_and_raw_writes_json(tmp_path):
    (tmp_path / "in.bu").write_text(doc("4.14.0"))
    plain = run_stoker(["in.bu"], tmp_path)
    pretty = run_stoker(["--pretty", "in.bu"], tmp_path)
    raw = run_stoker(["--raw", "--pretty", "in.bu"], tmp_path)
    assert plain.rc == pretty.rc == raw.rc == 0
    assert plain.stdout == pretty.stdout and plain.stdout.endswith("  name: 99-test\nspec:\n"
                                                                   "  config:\n    ignition:\n"
                                                                   "      version: 3.4.0\n")
    assert raw.stdout == '{\n  "ignition": {\n    "version": "3.4.0"\n  }\n}\n'


def test_repeated_openshift_list_items_are_duplicates_in_a_machine_config_only():
    """Ignition's duplicate check walks the whole MachineConfig, so its spec lists
    count too (before the config's own duplicates); a raw run has no such lists."""
    body = ("openshift:\n  kernel_arguments: [a, b, a]\n  extensions: [x, x]\n"
            "storage:\n  files:\n    - path: /a\n    - path: /a\n")
    result = translate(doc("4.14.0", body))
    assert result.error == "config generated was invalid"
    assert errors(result) == [
        "error at $.openshift.kernel_arguments.2, line 8 col 28: duplicate entry defined",
        "error at $.openshift.extensions.1, line 9 col 19: duplicate entry defined",
        "error at $.storage.files.1, line 13 col 7: duplicate entry defined"]
    raw = translate(doc("4.14.0", body), raw=True)
    assert errors(raw) == ["error at $.storage.files.1, line 13 col 7: duplicate entry defined"]

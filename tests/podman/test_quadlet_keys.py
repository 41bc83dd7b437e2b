"""Quadlet keys per section and Podman release; the unit file reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from podman_units import rendered_units
from stoker.fleet import quadlet as fleet_quadlet
from stoker.podman.capabilities import add_drop_problems, capability_problem
from stoker.podman.quadlet_keys import (DEFAULT_TARGET_PODMAN, DEPRECATED, KEYS, QUADLET_SECTION, TABLE_PODMAN,
                                        UNIT_TYPES, Entry, UnitSyntaxError, deprecation, key_problem,
                                        parse_unit_sections, parse_version, unit_problems, unit_type_problem,
                                        value_problem)
from stoker.podman.reference import parse_reference

ROOT = Path(__file__).resolve().parents[2]


# --- what stoker writes -------------------------------------------------------------------------

def test_every_key_stoker_writes_is_known_to_the_default_target():
    seen = set()
    for name, text in rendered_units().items():
        assert unit_problems(name, text) == [], text
        seen |= {(e.section, e.key) for e in parse_unit_sections(text)}
    # the keys this test covers: if stoker starts writing a new one, it shows up here
    assert {("Container", k) for k in ("ContainerName", "Image", "Exec", "Network", "User", "Environment",
                                       "EnvironmentFile", "PublishPort", "Volume", "ReadOnly", "Tmpfs",
                                       "DropCapability", "AddCapability")} <= seen
    assert ("Network", "NetworkName") in seen


def test_the_real_fleet_passes_every_check():
    try:
        from stoker.fleet.definitions import load_fleet
        fleet = load_fleet(ROOT)
    except Exception as exc:  # the fleet is someone else's work in progress; its own tests say why
        pytest.skip(f"the fleet definition does not load here: {exc}")
    checked = 0
    for vm in fleet.vms.values():
        for c in [*vm.services.values(), *vm.jobs.values()]:
            assert unit_problems(f"{c.name}.container", fleet_quadlet.container_unit(vm, c)) == []
            assert not parse_reference(c.image).short, c.image
            assert [capability_problem(n) for n in [*c.cap_add, *c.cap_drop] if capability_problem(n)] == []
            assert add_drop_problems(c.cap_add, c.cap_drop) == []
            checked += 1
        for net in vm.networks:
            assert unit_problems(f"{net}.network", fleet_quadlet.network_unit(vm, net)) == []
    assert checked


# --- key_problem --------------------------------------------------------------------------------

def test_a_typo_is_caught_with_a_hint():
    assert key_problem(".container", "Container", "Imag") == "unknown key 'Imag' in [Container]; did you mean 'Image'?"
    assert key_problem("web.container", "Container", "image") == \
        "unknown key 'image' in [Container]; did you mean 'Image'?"
    assert key_problem(".network", "Network", "NetworkNam") == \
        "unknown key 'NetworkNam' in [Network]; did you mean 'NetworkName'?"


def test_a_key_of_another_unit_type_says_where_it_belongs():
    msg = key_problem(".container", "Container", "PodName")
    assert msg.startswith("unknown key 'PodName' in [Container]") and "a key of [Pod]" in msg


def test_a_key_newer_than_the_target_names_both_versions():
    assert key_problem(".container", "Container", "HealthCmd", "4.4") == \
        "key 'HealthCmd' in [Container] needs Podman 4.5, the target has 4.4"
    assert key_problem(".container", "Container", "AddHost", "5.2.3") == \
        "key 'AddHost' in [Container] needs Podman 5.3, the target has 5.2"
    assert key_problem(".container", "Container", "HealthCmd", "4.5") is None
    assert key_problem(".container", "Container", "AppArmor", (5, 8)) is None


def test_quadlet_section_and_unit_types_have_versions_too():
    assert key_problem(".container", "Quadlet", "DefaultDependencies", "5.2") == \
        "key 'DefaultDependencies' in [Quadlet] needs Podman 5.3, the target has 5.2"
    assert unit_type_problem("x.build", "5.1") == ".build files need Podman 5.2, the target has 5.1"
    assert unit_type_problem("x.pod") is None
    assert "did you mean '.container'" in unit_type_problem("x.contaner")


def test_systemd_sections_are_not_checked_but_quadlet_refusals_are():
    assert key_problem(".container", "Service", "Restart") is None
    assert key_problem(".container", "Unit", "Descripton") is None   # systemd's business, not this table's
    assert key_problem(".container", "Install", "WantedBy") is None
    assert key_problem(".container", "X-Mine", "Anything") is None
    assert key_problem(".container", "Service", "User").startswith("Quadlet does not support User= in [Service]")
    assert value_problem(".container", "Service", "Type", "simple") == \
        "Quadlet refuses Type=simple in [Service] of a .container file (only notify or oneshot)"
    assert value_problem(".container", "Service", "Type", "oneshot") is None
    assert value_problem(".network", "Service", "Type", "simple") is None
    assert value_problem(".kube", "Service", "Type", "simple", "4.7") is None   # checked since 4.8
    assert value_problem(".kube", "Service", "Type", "simple", "4.8") is not None


def test_sections_in_the_wrong_file_or_misspelt():
    assert key_problem(".container", "Network", "NetworkName").startswith(
        "section [Network] belongs in a .network file")
    assert key_problem(".container", "Contaner", "Image").startswith(
        "unknown section [Contaner] (did you mean [Container]?)")


def test_a_target_newer_than_the_table_says_so():
    assert "newest release this table knows" in key_problem(".container", "Container", "Frob", "6.1")


def test_deprecated_keys_still_work_and_are_noted():
    assert key_problem(".container", "Container", "VolatileTmp") is None
    assert deprecation("VolatileTmp") == "key 'VolatileTmp' is deprecated since Podman 5.0; use Tmpfs=/tmp"
    assert deprecation("Image") is None
    assert set(DEPRECATED) <= set(KEYS["Container"])


def test_version_parsing():
    assert parse_version("5.4.2+ds1-2+b2") == (5, 4)
    assert parse_version("v4.9") == (4, 9)
    with pytest.raises(ValueError):
        parse_version("five")


def test_the_table_is_consistent():
    top = parse_version(TABLE_PODMAN)
    assert parse_version(DEFAULT_TARGET_PODMAN)[0] == 5
    assert {section for section, _ in UNIT_TYPES.values()} | {QUADLET_SECTION} == set(KEYS)
    for suffix, (section, since) in UNIT_TYPES.items():
        assert parse_version("4.4") <= parse_version(since) <= top
        for key, added in KEYS[section].items():
            # a key cannot predate the unit type that holds it
            assert parse_version(since) <= parse_version(added) <= top, (section, key)


def test_unit_problems_report_file_and_line():
    text = "[Unit]\nDescription=x\n\n[Container]\nImage=registry.example.org/a:1\nImag=y\n"
    assert unit_problems("web.container", text) == [
        "web.container:6: unknown key 'Imag' in [Container]; did you mean 'Image'?"]
    misplaced = "[Container]\nImage=registry.example.org/a:1\n[Network]\nNetworkName=a\nSubnet=10.0.0.0/24\n"
    assert unit_problems("web.container", misplaced) == [
        "web.container:4: section [Network] belongs in a .network file; in a .container file Quadlet passes it "
        "on and systemd ignores it"]
    assert unit_problems("web.container", "Image=x\n") == [
        'web.container:1: "Image=x" comes before the first [section]']


# --- parse_unit_sections -------------------------------------------------------------------------

def test_comments_continuations_and_repeated_keys():
    text = (
        "# a comment\n"
        "; another\n"
        "[Container]\n"
        "Image=registry.example.org/a:1\n"
        "Exec=sh -c \\\n"
        "  # a comment inside a continued value is skipped\n"
        "  'sleep 1'\n"
        "Environment=A=1\n"
        "  Environment = B=2  \n"
        "\n"
        "[Service]   \n"
        "Restart=always\n"
        "[Container]\n"
        "Tmpfs=/tmp\n"
    )
    assert parse_unit_sections(text) == [
        Entry("Container", "Image", 4, "registry.example.org/a:1"),
        Entry("Container", "Exec", 5, "sh -c 'sleep 1'"),
        Entry("Container", "Environment", 8, "A=1"),
        Entry("Container", "Environment", 9, "B=2"),
        Entry("Service", "Restart", 12, "always"),
        Entry("Container", "Tmpfs", 14, "/tmp"),
    ]


def test_entries_unpack_as_section_key_line():
    (section, key, line, _value), = parse_unit_sections("[Container]\nImage=a\n")
    assert (section, key, line) == ("Container", "Image", 2)


def test_a_trailing_backslash_on_the_last_line():
    assert parse_unit_sections("[Container]\nExec=true \\") == [Entry("Container", "Exec", 2, "true ")]


@pytest.mark.parametrize("text,line,says", [
    ("[Container]\nnot a pair\n", 2, '"not a pair" is not a key=value pair'),
    ("[Container\nImage=a\n", 1, "is not a key=value pair"),
    ("Image=a\n[Container]\n", 1, "comes before the first [section]"),
    ("[]\n", 1, "invalid section name"),
    ("[Container]\n=a\n", 2, "is not a key=value pair"),
])
def test_syntax_errors_name_the_line(text, line, says):
    with pytest.raises(UnitSyntaxError) as err:
        parse_unit_sections(text)
    assert err.value.line == line and says in str(err.value)

"""Capability names as Podman reads AddCapability= / DropCapability=."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stoker.podman.capabilities import (CAPABILITIES, add_drop_problems, capability_problem, normalize,
                                        split_value)


@pytest.mark.parametrize("name", ["NET_BIND_SERVICE", "net_bind_service", "CAP_NET_ADMIN", "cap_chown",
                                  "Sys_Time", "all", "ALL", "All", "CHECKPOINT_RESTORE"])
def test_podman_accepts_any_case_with_or_without_prefix(name):
    assert capability_problem(name) is None


@pytest.mark.parametrize("name,hint", [
    ("NET_BIND_SERVCE", "CAP_NET_BIND_SERVICE"),
    ("cap_sys_admn", "CAP_SYS_ADMIN"),
    ("NETADMIN", "CAP_NET_ADMIN"),
])
def test_a_misspelt_name_gets_a_hint(name, hint):
    assert capability_problem(name) == f'unknown capability "{normalize(name)}"; did you mean "{hint}"?'


def test_an_unknown_name_without_a_near_one():
    assert capability_problem("FROBNICATE") == 'unknown capability "CAP_FROBNICATE"'
    assert capability_problem("  ") == "empty capability name"


def test_kernel_version_is_checked_when_given():
    assert capability_problem("BPF", kernel="5.4.0-150-generic") == \
        'capability "CAP_BPF" needs Linux 5.8, the target runs 5.4.0-150-generic'
    assert capability_problem("BPF", kernel="6.12") is None
    assert capability_problem("CHOWN", kernel="2.6.32") is None


def test_the_table_is_the_kernels_list():
    # 41 capabilities, 0..CAP_CHECKPOINT_RESTORE (40), in the kernel's order
    assert len(CAPABILITIES) == 41
    assert list(CAPABILITIES)[:3] == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"]
    assert list(CAPABILITIES)[-1] == "CAP_CHECKPOINT_RESTORE"


def test_the_table_matches_this_hosts_kernel_header_when_there_is_one():
    header = Path("/usr/include/linux/capability.h")
    if not header.is_file():
        pytest.skip("no linux/capability.h here (linux-libc-dev)")
    numbered = dict(re.findall(r"^#define (CAP_[A-Z_]+)\s+(\d+)\s*$", header.read_text(), re.M))
    names = [n for n, _ in sorted(numbered.items(), key=lambda kv: int(kv[1]))]
    assert names == list(CAPABILITIES)[:len(names)]


def test_split_value_takes_words_and_commas():
    assert split_value("NET_ADMIN  sys_time,CHOWN") == ["NET_ADMIN", "sys_time", "CHOWN"]


def test_add_and_drop_together():
    assert add_drop_problems(["NET_BIND_SERVICE"], ["all"]) == []
    assert add_drop_problems(["all"], ["NET_ADMIN"]) == []
    assert add_drop_problems(["all"], ["ALL"]) == ["adding all caps and removing all caps not allowed"]
    assert add_drop_problems(["net_admin", "CHOWN"], ["CAP_NET_ADMIN"]) == [
        'capability "CAP_NET_ADMIN" cannot be dropped and added']

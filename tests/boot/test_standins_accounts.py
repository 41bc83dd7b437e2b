"""Fixed-id accounts written into passwd/group/shadow/gshadow before packages are installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stoker.boot.standins.accounts import AccountError, accounts_json, add_accounts, apply_to_root
from stoker.boot.standins.model import Account

DEBIAN = {"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
          "etc/group": "root:x:0:\ntape:x:26:\nnogroup:x:65534:\n"}
NGINX = Account("nginx", 101, 101, gecos="nginx user")


def test_user_and_group_are_added_with_their_ids():
    out = add_accounts(DEBIAN, [NGINX])
    assert out["etc/passwd"].endswith("nginx:x:101:101:nginx user:/nonexistent:/usr/sbin/nologin\n")
    assert out["etc/group"].endswith("nginx:x:101:\n")
    assert set(out) == {"etc/passwd", "etc/group"}  # no shadow files where there were none


def test_shadow_files_get_locked_entries_when_present():
    out = add_accounts({**DEBIAN, "etc/shadow": "root:*:19000:0:99999:7:::\n", "etc/gshadow": "root:*::\n"},
                       [NGINX], days=20000)
    assert out["etc/shadow"].endswith("nginx:!:20000::::::\n")
    assert out["etc/gshadow"].endswith("nginx:!::\n")


def test_adding_twice_changes_nothing():
    once = add_accounts(DEBIAN, [NGINX])
    assert add_accounts(once, [NGINX]) == once


def test_gid_zero_uses_the_root_group():
    out = add_accounts(DEBIAN, [Account("mongodb", 184, 0)])
    assert "mongodb:x:184:0:" in out["etc/passwd"] and out["etc/group"] == DEBIAN["etc/group"]


@pytest.mark.parametrize("account, message", [
    (Account("postgres", 26, 26), "group postgres \\(26\\): taken by group tape \\(26\\)"),
    (Account("nobody", 99, 99), "user nobody \\(99:99\\): taken by user nobody \\(65534:65534\\)"),
    (Account("other", 65534, 100), "taken by user nobody"),
])
def test_conflicts_are_refused(account, message):
    with pytest.raises(AccountError, match=message):
        add_accounts(DEBIAN, [account])


def test_hook_rewrites_a_root_in_place_keeping_modes(tmp_path):
    (tmp_path / "etc").mkdir()
    for name, text in DEBIAN.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "etc/shadow").write_text("root:*:1:0:99999:7:::\n")
    os.chmod(tmp_path / "etc/shadow", 0o640)
    spec = tmp_path / "accounts.json"
    spec.write_text(accounts_json([NGINX]))
    proc = subprocess.run([sys.executable, "-m", "stoker.boot.standins.accounts_hook", str(tmp_path), str(spec)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "nginx:x:101:101" in (tmp_path / "etc/passwd").read_text()
    assert (tmp_path / "etc/shadow").stat().st_mode & 0o777 == 0o640
    assert not (tmp_path / "etc/gshadow").exists()


def test_hook_reports_a_conflict_without_a_traceback(tmp_path):
    (tmp_path / "etc").mkdir()
    for name, text in DEBIAN.items():
        (tmp_path / name).write_text(text)
    spec = tmp_path / "accounts.json"
    spec.write_text(json.dumps([{"name": "postgres", "uid": 26, "gid": 26}]))
    proc = subprocess.run([sys.executable, "-m", "stoker.boot.standins.accounts_hook", str(tmp_path), str(spec)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "taken by group tape" in proc.stderr and "Traceback" not in proc.stderr
    apply_to_root(tmp_path, [NGINX])  # the files are still intact
    assert "nginx" in (tmp_path / "etc/group").read_text()

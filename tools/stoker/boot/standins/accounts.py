"""System accounts with fixed ids, written into passwd, group, shadow and gshadow.

The fleet's data directories are owned by fixed ids (vms/*.yaml), so each
stand-in's user must have that id. Debian packages make their users with
`adduser --system` in their maintainer scripts, which keeps a user that
already exists; so the accounts are written before any package is installed
(a mmdebstrap --setup-hook runs accounts_hook.py on the new root). File
formats: passwd(5), group(5), shadow(5), gshadow(5).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from .model import Account

FILES = ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")


class AccountError(ValueError):
    """An account's name or id is taken by another one."""


def _rows(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line.strip()]


def add_accounts(files: dict[str, str], accounts: tuple[Account, ...] | list[Account],
                 days: int = 20089) -> dict[str, str]:
    """The four files (keys of FILES) with `accounts` added; a file not in `files` is not made.

    An account already present with the same name and ids is left as is; a
    name or id taken by a different entry raises AccountError. gid 0 means
    the existing root group (no group is made). `days`: the shadow file's
    "last changed" field, in days since 1970 (fixed, for reproducible builds).
    """
    passwd, group = _rows(files.get("etc/passwd", "")), _rows(files.get("etc/group", ""))
    shadow, gshadow = _rows(files.get("etc/shadow", "")), _rows(files.get("etc/gshadow", ""))
    for a in accounts:
        if a.gid != 0:
            gname = a.group_name
            same = [r for r in group if r[0] == gname or (len(r) > 2 and r[2] == str(a.gid))]
            if not same:
                group.append([gname, "x", str(a.gid), ""])
                gshadow.append([gname, "!", "", ""])
            elif any(r[0] != gname or r[2] != str(a.gid) for r in same):
                taken = same[0]
                raise AccountError(f"group {gname} ({a.gid}): taken by group {taken[0]} ({taken[2]})")
        same = [r for r in passwd if r[0] == a.name or (len(r) > 2 and r[2] == str(a.uid))]
        if not same:
            passwd.append([a.name, "x", str(a.uid), str(a.gid), a.gecos, a.home, a.shell])
            shadow.append([a.name, "!", str(days), "", "", "", "", "", ""])
        elif any(r[0] != a.name or r[2] != str(a.uid) or r[3] != str(a.gid) for r in same):
            taken = same[0]
            raise AccountError(f"user {a.name} ({a.uid}:{a.gid}): taken by user {taken[0]} "
                               f"({taken[2]}:{taken[3] if len(taken) > 3 else '?'})")
    out = {}
    for name, rows in zip(FILES, (passwd, group, shadow, gshadow)):
        if name in files:  # no shadow files on a root without the passwd package: none are made
            out[name] = "".join(":".join(r) + "\n" for r in rows)
    return out


def apply_to_root(root: Path, accounts: list[Account]) -> None:
    """Rewrite the account files under `root` in place (modes and owners kept)."""
    current = {}
    for name in FILES:
        try:
            current[name] = (root / name).read_text()
        except FileNotFoundError:
            continue
    new = add_accounts(current, accounts)
    for name, text in new.items():
        path = root / name
        if text == current[name]:
            continue
        st = path.stat()
        tmp = path.with_name(path.name + ".stoker-new")
        tmp.write_text(text)
        os.chmod(tmp, st.st_mode & 0o7777)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)


def accounts_json(accounts) -> str:
    return json.dumps([asdict(a) for a in accounts])

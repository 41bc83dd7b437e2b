"""The mmdebstrap setup hook that writes a stand-in's accounts into the new root.

    python3 -m stoker.boot.standins.accounts_hook ROOT ACCOUNTS.json

ACCOUNTS.json: a list of {"name", "uid", "gid", "group", "home", "shell", "gecos"}
(accounts.accounts_json). Exit 0 when written (or already there), 1 on a
conflict (a name or id taken by another account) or an unreadable file, with
the reason on standard error, 2 on wrong use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .accounts import apply_to_root
from .model import Account


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python3 -m stoker.boot.standins.accounts_hook ROOT ACCOUNTS.json", file=sys.stderr)
        return 2
    try:
        accounts = [Account(**a) for a in json.loads(Path(argv[2]).read_text())]
        apply_to_root(Path(argv[1]), accounts)
    except (OSError, ValueError, TypeError) as exc:
        print(f"stoker accounts: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

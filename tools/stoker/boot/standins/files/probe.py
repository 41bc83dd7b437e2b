#!/usr/bin/python3
"""stoker-probe: what a throwaway probe container sees from inside a guest's container network.

Installed as /usr/local/bin/stoker-probe in the probe image (standard library only).
The boot test's container probes (stoker.boot.probes) start the image in a
container network or in a service container's network namespace and run:

    stoker-probe connect HOST PORT [SECONDS]   resolve HOST, open a TCP connection to PORT
    stoker-probe read PATH                     can this process open PATH for reading?
    stoker-probe env NAME...                   which of these variables does this process have?

Each prints one JSON object on standard output and exits 0 when it could
answer (the answer itself is in the JSON), 2 on wrong usage. Nothing ever
prints a file's contents or a variable's value: `read` says only whether the
open succeeded (and errno's name), `env` only which names are set.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time


def connect(host: str, port: int, seconds: float = 20.0) -> dict:
    """{"host", "port", "addresses": [resolved IPv4/IPv6], "connected": bool, "error": str}.

    Resolution and connection are retried until `seconds` have passed (a service
    that is still starting refuses for a while)."""
    deadline = time.monotonic() + seconds
    addresses: list[str] = []
    error = ""
    while True:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = sorted({info[4][0] for info in infos})
            with socket.create_connection((host, port), timeout=5):
                return {"host": host, "port": port, "addresses": addresses, "connected": True, "error": ""}
        except socket.gaierror as exc:
            error = f"name not resolved: {exc.strerror}"
        except OSError as exc:
            error = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
            error = f"{error}: {exc.strerror or exc}"
        if time.monotonic() >= deadline:
            return {"host": host, "port": port, "addresses": addresses, "connected": False, "error": error}
        time.sleep(1)


def read(path: str) -> dict:
    """{"path", "readable": bool, "error": errno name or ""}; the contents are never read beyond one byte."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return {"path": path, "readable": True, "error": "", "uid": os.getuid()}
    except OSError as exc:
        return {"path": path, "readable": False, "error": errno.errorcode.get(exc.errno or 0, str(exc)),
                "uid": os.getuid()}


def env(names: list[str]) -> dict:
    """{"set": [names present in this process's environment], "uid": uid}; never a value."""
    return {"set": sorted(n for n in names if n in os.environ), "uid": os.getuid()}


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "connect":
        try:
            port = int(argv[2])
            seconds = float(argv[3]) if len(argv) > 3 else 20.0
        except ValueError:
            print("stoker-probe connect: PORT and SECONDS are numbers", file=sys.stderr)
            return 2
        result = connect(argv[1], port, seconds)
    elif len(argv) == 2 and argv[0] == "read":
        result = read(argv[1])
    elif argv[:1] == ["env"]:
        result = env(argv[1:])
    else:
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

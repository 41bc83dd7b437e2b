"""Find the Debian mirror the host's apt already uses (never hard-coded)."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ImageError

SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


def parse_deb822(text: str) -> list[str]:
    """URIs of `Types: deb` stanzas, security archives last."""
    uris: list[str] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        if "deb" in fields.get("types", "").split() and fields.get("uris"):
            uris.extend(fields["uris"].split())
    return _main_first(uris)


def parse_sources_list(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0])  # drop "[signed-by=... arch=...]"
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb":
            uris.append(parts[1])
    return _main_first(uris)


def _main_first(uris: list[str]) -> list[str]:
    seen = list(dict.fromkeys(uris))
    return [u for u in seen if "security" not in u] + [u for u in seen if "security" in u]


def debian_mirror(paths: tuple[Path, ...] = SOURCES) -> str:
    """The first non-security Debian archive URI in the host's apt configuration."""
    for path in paths:
        try:
            text = path.read_text()
        except OSError:
            continue
        uris = parse_deb822(text) if path.suffix == ".sources" else parse_sources_list(text)
        uris = [u for u in uris if "security" not in u]
        if uris:
            return uris[0].rstrip("/")
    # any other .sources file
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        uris = [u for u in parse_deb822(path.read_text()) if "security" not in u]
        if uris:
            return uris[0].rstrip("/")
    raise ImageError("no Debian mirror found in the host's apt configuration "
                     "(/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)")

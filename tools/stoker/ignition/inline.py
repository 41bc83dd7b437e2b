"""What Ignition finds only at boot about inline (data: URL) resources, found now.

    inline_problems(config) -> list[Entry]

Ignition fetches every resource (file contents and appends, merged and
replacing configs, TLS certificate authorities, LUKS key files) the same way:
decode the URL, decompress it when `compression: gzip`, hash the *decompressed*
stream and compare it with `verification.hash`
(coreos/ignition v2.26.0 internal/resource/url.go, decompressCopyHashAndVerify).
A data URL whose gzip is broken or whose hash does not match fails the boot;
its data is all here, so both are errors now. Inline child configs
(`ignition.config.merge`/`replace`) are returned by `inline_configs` so the
caller validates them as documents of their own.

Data that expands beyond MAX_INLINE bytes is not read further (a gzip bomb in
user-data would otherwise take the machine): a warning says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from urllib.parse import unquote_to_bytes

from ..report import ERROR, WARNING, Entry

MAX_INLINE = 64 * 1024 * 1024  # bytes after decompression
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}


def resources(config: dict):
    """(path, resource) for every resource object of an Ignition config."""
    ignition = _obj(config.get("ignition"))
    cfg = _obj(ignition.get("config"))
    for i, merge in enumerate(_list(cfg.get("merge"))):
        yield ("ignition", "config", "merge", i), merge
    if isinstance(cfg.get("replace"), dict):
        yield ("ignition", "config", "replace"), cfg["replace"]
    tls = _obj(_obj(ignition.get("security")).get("tls"))
    for i, ca in enumerate(_list(tls.get("certificateAuthorities"))):
        yield ("ignition", "security", "tls", "certificateAuthorities", i), ca
    storage = _obj(config.get("storage"))
    for i, f in enumerate(_list(storage.get("files"))):
        if isinstance(f.get("contents"), dict):
            yield ("storage", "files", i, "contents"), f["contents"]
        for j, appended in enumerate(_list(f.get("append"))):
            yield ("storage", "files", i, "append", j), appended
    for i, luks in enumerate(_list(storage.get("luks"))):
        if isinstance(luks.get("keyFile"), dict):
            yield ("storage", "luks", i, "keyFile"), luks["keyFile"]


def read_inline(resource: dict, limit: int = MAX_INLINE) -> tuple[bytes | None, str | None]:
    """(the data Ignition would get, None), or (None, why it cannot be had) for a
    data: URL; (None, None) when the source is not a data: URL."""
    source = resource.get("source")
    if not isinstance(source, str) or not source.startswith("data:") or "," not in source:
        return None, None
    head, _, payload = source[5:].partition(",")
    try:
        data = base64.b64decode(payload, validate=False) if head.endswith(";base64") else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None, "the data URL does not decode"  # Ignition's own URL check names it
    if resource.get("compression") == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            return None, f"compression is gzip but the data is not gzip ({exc}); Ignition fails at boot"
        if len(out) > limit:
            return None, f"expands beyond {limit // (1024 * 1024)} MiB: not checked further"
        if not inflater.eof:
            return None, "the gzip data is truncated; Ignition fails at boot"
        data = out
    return data, None


def inline_problems(config: dict) -> list[Entry]:
    entries = []
    for path, resource in resources(config):
        data, why = read_inline(resource)
        if why:
            kind = WARNING if why.endswith("not checked further") else ERROR
            entries.append(Entry(kind, path + ("source",), why))
            continue
        expected = _obj(resource.get("verification")).get("hash")
        if data is None or not isinstance(expected, str) or "-" not in expected:
            continue
        function, _, digest = expected.partition("-")
        if function in _HASHES and _HASHES[function](data).hexdigest() != digest.lower():
            entries.append(Entry(ERROR, path + ("verification", "hash"),
                                 f"the {function} of the data is {_HASHES[function](data).hexdigest()[:16]}…, "
                                 "not the one given: Ignition fails at boot (hash verification failed)"))
    return entries


def inline_configs(config: dict) -> list[tuple[tuple, bytes]]:
    """The child configs carried inline in `ignition.config.merge`/`replace`: (path, bytes)."""
    out = []
    for path, resource in resources(config):
        if path[:2] != ("ignition", "config"):
            continue
        data, _ = read_inline(resource)
        if data is not None:
            out.append((path, data))
    return out


def remote_sources(config: dict) -> list[tuple[tuple, str]]:
    """Resources fetched at boot from elsewhere (not data: URLs): (path, source)."""
    return [(path, r["source"]) for path, r in resources(config)
            if isinstance(r.get("source"), str) and r["source"] and not r["source"].startswith("data:")]


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

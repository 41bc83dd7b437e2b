"""Local files and data URLs, as Butane turns `inline`/`local` contents into sources.

The data URL is the shortest of: percent-encoding, base64, and (when the user set
no compression) gzip+base64, with Butane's tie-breaking (SPEC §3).
"""

from __future__ import annotations

import base64
import os
import zlib

from ..ignition.goformat import clean_path, join_path

ERR_NO_FILES_DIR = ("local file paths are relative to a files directory that must be "
                    "specified with -d/--files-dir")
ERR_ESCAPE = "local file path traverses outside the files directory"

_UNRESERVED = "-_.!~*'()"  # kept as is by Go's url.PathEscape-like encoder Butane uses


class LocalFileError(Exception):
    """Reading a local file failed; the message is the official tool's."""


# Bytes quote(..., safe=_UNRESERVED) keeps as they are: letters, digits, "_.-~" and _UNRESERVED.
_KEPT = bytes(sorted(set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
                         + _UNRESERVED.encode())))
_PERCENT: list[str] = []  # byte -> its text in a percent-encoded URL (filled on first use)


def _percent_encode(data: bytes) -> str:
    """urllib.parse.quote(data, safe=_UNRESERVED): a byte of _KEPT as is, any other
    as %XX (upper-case hex). Here rather than urllib.parse, which costs more to
    import than a small translation takes (`stoker butane` start-up);
    tests/butane/test_data_url.py holds the two equal."""
    if not _PERCENT:
        _PERCENT.extend(chr(b) if b in _KEPT else f"%{b:02X}" for b in range(256))
    return "".join(map(_PERCENT.__getitem__, data))


def data_url(data: bytes, *, compress: bool) -> tuple[str, str]:
    """(source, compression) for `data`; compression is "gzip" or "".

    The lengths of the candidates are compared before any is built: a percent-
    encoded byte takes 3 characters, a kept one 1; base64 takes 4 per 3 bytes.
    Butane gzips when ";base64," + base64(gzip) is more than 4 characters shorter
    than the shorter plain form; the gzip is Go's (goflate), whose length zlib's
    only approximates, so zlib decides only far from that threshold
    (_gzip_length_is_far)."""
    pct_len = 1 + len(data) + 2 * len(data.translate(None, _KEPT))
    b64_len = len(";base64,") + 4 * ((len(data) + 2) // 3)
    use_b64, chosen_len = (True, b64_len) if b64_len < pct_len else (False, pct_len)
    if compress:
        gz = _go_gzip_if_shorter(data, chosen_len)
        if gz is not None:
            return "data:;base64," + base64.b64encode(gz).decode("ascii"), "gzip"
    if use_b64:
        return "data:;base64," + base64.b64encode(data).decode("ascii"), ""
    return "data:," + _percent_encode(data), ""


# goflate (a pure-Python port of Go's compress/flate) is exact but slow (about
# 50-700 KB/s, less on data with many short repeats); zlib is fast, and its level-9
# length stays close to Go's. Over 624 sampled inputs (source text, config files,
# small alphabets, word salads) the gap was at most 9 bytes of 65 for small outputs
# and 527 of 5211 (10%) for large ones, Go being shorter as often as longer. Within
# zlib's length +- _gzip_margin (16 bytes + 1/8) the decision may differ, and
# goflate decides and writes Go's very bytes; outside it zlib decides, and a
# gzip'd source holds zlib's bytes (the same contents; only the choice is visible
# in a comparison of decoded outputs). Contents zlib cannot shrink at all (random
# or already compressed bytes) Go cannot shrink either: both keep them as stored
# or literal-only blocks, and gzip's 18 bytes of framing already lose.
def _gzip_margin(zlib_len: int) -> int:
    return 16 + zlib_len // 8


# Above this many bytes goflate is not run (at its slowest, on already compressed
# data such as zip, jar or png files, it takes about 8 s per MB): zlib's length
# decides alone, so a large file close to the threshold may be gzip'd where the
# official tool keeps it plain, or the reverse (the README's known differences).
GOFLATE_MAX_BYTES = 256 * 1024


def _go_gzip_if_shorter(data: bytes, chosen_len: int) -> bytes | None:
    """The gzip stream to use for `data` when Butane would gzip it, else None."""
    def wins(gz_len: int) -> bool:
        return len(";base64,") + 4 * ((gz_len + 2) // 3) + 4 < chosen_len

    zgz = gzip_bytes(data)
    if len(zgz) - 18 >= len(data):
        return None  # zlib's deflate is no shorter than the contents: nor is Go's
    margin = _gzip_margin(len(zgz))
    if not wins(max(len(zgz) - margin, 0)):
        return None  # even a Go stream `margin` bytes shorter would lose
    if wins(len(zgz) + margin):
        return zgz  # even a Go stream `margin` bytes longer would win
    if len(data) > GOFLATE_MAX_BYTES:
        return zgz if wins(len(zgz)) else None  # too slow to ask goflate: zlib decides
    from . import goflate  # lazily: not on `stoker butane`'s start-up path

    gz = goflate.gzip_bytes(data)
    return gz if wins(len(gz)) else None


def pct_data_url(data: bytes) -> str:
    """The percent-encoded data URL (fcos 1.0.0 writes inline contents only this way)."""
    return "data:," + _percent_encode(data)


def decode_data_url(source: str, compression: str | None = None) -> bytes | None:
    """The bytes of a `data:` URL (gunzipped when compression is "gzip"), or None
    for any other source."""
    if not source.startswith("data:") or "," not in source:
        return None
    import gzip
    from urllib.parse import unquote_to_bytes

    head, _, payload = source[5:].partition(",")
    data = base64.b64decode(payload) if head.endswith(";base64") else unquote_to_bytes(payload)
    if compression == "gzip":
        data = gzip.decompress(data)
    return data


def gzip_bytes(data: bytes) -> bytes:
    """zlib's gzip at best compression (the fast estimate of Go's; goflate has
    Go's own bytes), with mtime 0 and the OS byte Go writes (255): the
    bytes of gzip.compress(data, 9, mtime=0) with byte 9 set to 255, made by zlib
    (wbits 31: a gzip member, mtime 0, extra flags 2 at level 9) without importing
    gzip (start-up); tests/butane/test_data_url.py holds the two equal."""
    out = bytearray(zlib.compress(data, 9, 31))
    out[8], out[9] = 2, 255
    return bytes(out)


def local_path(files_dir: str | None, local: str) -> str:
    """The path of a `local` file, or LocalFileError with the official message."""
    if files_dir is None:
        raise LocalFileError(ERR_NO_FILES_DIR)
    path = join_path(files_dir, local)
    try:
        base = _go_abs(files_dir)
        full = _go_abs(path)
    except OSError as exc:  # a relative -d in a deleted working directory: Go's filepath.Abs
        text = os.strerror(exc.errno) if exc.errno else str(exc)
        raise LocalFileError(f"getwd: {text[:1].lower()}{text[1:]}") from None
    if full != base and not full.startswith(base + "/"):
        raise LocalFileError(ERR_ESCAPE)
    return path


def _go_abs(path: str) -> str:
    """Go's filepath.Abs: cleaned, so a leading "//" is one slash (os.path.abspath keeps it)."""
    return clean_path(path if path.startswith("/") else os.getcwd() + "/" + path)


def go_os_error(op: str, path: str, exc: OSError) -> str:
    """An OSError worded as Go's *PathError prints it: `open files/x: no such file or directory`.
    A ValueError is Python refusing a path with a NUL byte, which Go's syscalls call EINVAL."""
    if isinstance(exc, ValueError):
        return f"{op} {path}: invalid argument"
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"{op} {path}: {text[:1].lower()}{text[1:]}"


def read_local(files_dir: str | None, local: str) -> bytes:
    path = local_path(files_dir, local)
    try:
        fd = os.open(path, os.O_RDONLY)
    except (OSError, ValueError) as exc:
        raise LocalFileError(go_os_error("open", path, exc)) from None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError as exc:
        raise LocalFileError(go_os_error("read", path, exc)) from None

"""goflate, the port of Go's compress/flate level 9 (and gzip writer).

Exact vectors come from the official tool's own outputs: every gzip'd data URL in
tests/butane/corpus*/ is decoded, gzip'd again by goflate and compared byte for
byte. The two reference sets were made by two builds of butane v0.29.0 whose Go
differs: tests/butane/corpus/ by a Go with the classic compress/flate (its streams
end with an empty stored block), tests/butane/corpus-variants/ by a Go with the
2026 rewrite (an empty fixed-Huffman block ends them; goflate's eof_fixed)."""

from __future__ import annotations

import base64
import gzip
import re
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.butane import goflate, resources

HERE = Path(__file__).parent
DATA_URL = re.compile(r"data:;base64,([A-Za-z0-9+/=]+)")


def official_gzip_sources(corpus: str) -> dict[bytes, str]:
    """Every distinct gzip stream in the official outputs of one reference set."""
    found: dict[bytes, str] = {}
    for out in sorted((HERE / corpus).glob("*/*.stdout")):
        for m in DATA_URL.finditer(out.read_text()):
            raw = base64.b64decode(m.group(1))
            if raw[:2] == b"\x1f\x8b":
                found.setdefault(raw, f"{out.parent.name}/{out.name}")
    return found


CLASSIC = official_gzip_sources("corpus")
REWRITE = official_gzip_sources("corpus-variants")


def test_the_reference_sets_hold_gzip_streams():
    assert len(CLASSIC) >= 5 and len(REWRITE) >= 5


@pytest.mark.parametrize("raw", list(CLASSIC), ids=list(CLASSIC.values()))
def test_same_bytes_as_the_official_tool(raw):
    assert goflate.gzip_bytes(gzip.decompress(raw)) == raw


@pytest.mark.parametrize("raw", list(REWRITE), ids=list(REWRITE.values()))
def test_same_bytes_as_the_official_tool_built_with_the_newer_go(raw):
    assert goflate.gzip_bytes(gzip.decompress(raw), eof_fixed=True) == raw


def roundtrip(data: bytes) -> None:
    for eof_fixed in (False, True):
        out = goflate.gzip_bytes(data, eof_fixed=eof_fixed)
        assert out[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        assert zlib.decompress(out, 31) == data


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_round_trip(data):
    roundtrip(data)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"ab", b"abc", b"abcd", b"\n", b"xyzzy ", b"\x00", b"\xff" * 5]),
                max_size=1500))
def test_repetitive_bytes_round_trip(parts):
    roundtrip(b"".join(parts))


@pytest.mark.parametrize("data", [
    b"", b"a", b"ab", b"abc", b"abcd", b"aaaa", b"a" * 259, b"a" * 300,
    bytes(range(256)) * 3,
    bytes(70000),                                     # window slides; long matches
    bytes(i * 7919 % 251 for i in range(100000)),      # several slides, many blocks
    b"".join(b"line %d of a config file\n" % (i % 977) for i in range(6000)),
    bytes((i * i) >> 3 & 0xFF for i in range(40000)),  # blocks that are stored
], ids=lambda d: f"{len(d)}B")
def test_structured_round_trip(data):
    roundtrip(data)


def test_incompressible_blocks_are_stored():
    import random
    data = random.Random(3).randbytes(20000)
    out = goflate.deflate(data)
    # stored blocks: 5 bytes of header each, no more
    assert len(out) <= len(data) + 5 * 3 + 5


def gz_wins(gz_len: int, chosen_len: int) -> bool:
    return len(";base64,") + 4 * ((gz_len + 2) // 3) + 4 < chosen_len


@pytest.mark.parametrize("raw", list(CLASSIC) + list(REWRITE))
def test_data_url_gzips_what_the_official_tool_gzipped(raw):
    data = gzip.decompress(raw)
    source, compression = resources.data_url(data, compress=True)
    assert compression == "gzip"
    assert resources.decode_data_url(source, compression) == data


UNIT = b"[Unit]\nExec=podman --net=host x7\n"


def test_data_url_near_the_threshold_writes_go_s_bytes():
    """Near the threshold goflate decides, and a gzip'd source holds Go's bytes."""
    near = 0
    for n in range(20, 400, 7):
        data = bytes(UNIT[i % len(UNIT)] ^ (i * 31 % 5) for i in range(n))
        pct_len = 1 + len(data) + 2 * len(data.translate(None, resources._KEPT))
        b64_len = len(";base64,") + 4 * ((len(data) + 2) // 3)
        z = len(resources.gzip_bytes(data))
        m = resources._gzip_margin(z)
        if gz_wins(z + m, min(pct_len, b64_len)) or not gz_wins(max(z - m, 0), min(pct_len, b64_len)):
            continue
        near += 1
        gz = goflate.gzip_bytes(data)
        source, compression = resources.data_url(data, compress=True)
        if gz_wins(len(gz), min(pct_len, b64_len)):
            assert (source, compression) == ("data:;base64," + base64.b64encode(gz).decode(), "gzip")
        else:
            assert compression == ""
    assert near >= 3


def test_data_url_near_the_threshold_follows_go_not_zlib():
    """Case 33 of corpus-variants: zlib's gzip would win by 3 characters, Go's loses."""
    path = HERE / "corpus-variants/33-fiot-v1_1-exp-quadlets/files/quadlets/mqtt.container"
    data = path.read_bytes()
    pct_len = 1 + len(data) + 2 * len(data.translate(None, resources._KEPT))
    assert gz_wins(len(resources.gzip_bytes(data)), pct_len)
    assert not gz_wins(len(goflate.gzip_bytes(data)), pct_len)
    assert resources.data_url(data, compress=True)[1] == ""


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([b"Exec=", b"podman ", b"--net=host", b"\n", b"[Unit]", b"x", b"7", b" "]),
                max_size=200))
def test_data_url_decision_is_goflate_s(parts):
    """Whatever zlib says, the decision is the one Go's gzip length gives (and
    zlib's length is within the margin of Go's)."""
    data = b"".join(parts)
    pct_len = 1 + len(data) + 2 * len(data.translate(None, resources._KEPT))
    b64_len = len(";base64,") + 4 * ((len(data) + 2) // 3)
    go_len, z_len = len(goflate.gzip_bytes(data)), len(resources.gzip_bytes(data))
    assert abs(go_len - z_len) <= resources._gzip_margin(z_len)
    want = gz_wins(go_len, min(pct_len, b64_len))
    assert (resources.data_url(data, compress=True)[1] == "gzip") == want


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=2000), st.sampled_from([1, 2, 4, 16, 64, 256]))
def test_data_url_decision_on_bytes_is_goflate_s(raw, alphabet):
    """Also on binary contents, random or from a small alphabet (incompressible
    contents are decided without goflate)."""
    data = bytes(b % alphabet for b in raw)
    pct_len = 1 + len(data) + 2 * len(data.translate(None, resources._KEPT))
    b64_len = len(";base64,") + 4 * ((len(data) + 2) // 3)
    want = gz_wins(len(goflate.gzip_bytes(data)), min(pct_len, b64_len))
    assert (resources.data_url(data, compress=True)[1] == "gzip") == want


def test_incompressible_contents_do_not_need_goflate():
    import random
    for n in (100, 1000, 20000):
        data = random.Random(n).randbytes(n)
        assert len(resources.gzip_bytes(data)) - 18 >= n
        assert len(goflate.gzip_bytes(data)) - 18 >= n
        assert resources.data_url(data, compress=True)[1] == ""

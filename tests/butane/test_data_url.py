"""data_url picks the shortest encoding by computed lengths: the same choice as
building all three and comparing them (Butane's rule, SPEC §3)."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.butane.resources import _UNRESERVED, data_url, gzip_bytes, pct_data_url


def _built(data: bytes, compress: bool) -> tuple[str, str]:
    pct = "," + quote(data, safe=_UNRESERVED)
    b64 = ";base64," + base64.b64encode(data).decode("ascii")
    chosen, compression = (b64 if len(b64) < len(pct) else pct), ""
    if compress:
        gz = ";base64," + base64.b64encode(gzip_bytes(data)).decode("ascii")
        if len(gz) + 4 < len(chosen):
            chosen, compression = gz, "gzip"
    return "data:" + chosen, compression


TEXTY = st.binary(max_size=600) | st.text(alphabet="ab c/%\n!*'()~-_.é", max_size=600).map(str.encode)


@settings(max_examples=400, deadline=None)
@given(data=TEXTY, compress=st.booleans())
def test_the_choice_is_the_shortest_as_if_all_were_built(data, compress):
    assert data_url(data, compress=compress) == _built(data, compress)


@settings(max_examples=200, deadline=None)
@given(data=TEXTY)
def test_gzip_bytes_are_gzip_module_bytes_with_go_os_byte(data):
    import gzip

    expected = bytearray(gzip.compress(data, compresslevel=9, mtime=0))
    expected[8], expected[9] = 2, 255
    assert gzip_bytes(data) == bytes(expected)
    assert gzip.decompress(gzip_bytes(data)) == data


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_percent_encoding_is_urllib_quote(data):
    assert pct_data_url(data) == "data:," + quote(data, safe=_UNRESERVED)

"""Ignition's URL rules: Go's net/url parsing, data URLs, S3 ARNs and schemes.

Go's url.Parse is far more lenient than Python's urllib in some places and
stricter in others, so the few rules that decide "unable to parse url" are
ported here rather than borrowed from urllib.
"""

from __future__ import annotations

import re

from ..values import Value
from . import messages as msg
from .versions import has

# string.ascii_letters + string.digits, written out: the `string` module (and
# urllib.parse, needed only for queries) stay off `stoker butane`'s start-up path.
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEX = set("0123456789abcdefABCDEF")


class URLError(ValueError):
    """The URL cannot be used; str(error) is Ignition's message."""


class GoURL(Value):
    """What Ignition's checks need of a parsed URL (a value): the scheme (lower case,
    "" when there is none), the raw query, and whether the URL is opaque."""

    __slots__ = ("scheme", "raw_query", "opaque")

    def __init__(self, scheme: str, raw_query: str, opaque: bool) -> None:
        self.scheme = scheme
        self.raw_query = raw_query
        self.opaque = opaque


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def parse_go_url(raw: str) -> GoURL:
    """Parse like Go's url.Parse; raise URLError(INVALID_URL) where it fails."""
    text, _, fragment = raw.partition("#")
    _check_escapes(fragment)
    if _CONTROL.search(text):
        raise URLError(msg.INVALID_URL)
    scheme, rest = _split_scheme(text)
    raw_query = ""
    if "?" in rest:
        rest, _, raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return GoURL(scheme, raw_query, True)
        first_segment = rest.split("/", 1)[0]
        if ":" in first_segment:
            raise URLError(msg.INVALID_URL)
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        _check_authority(authority)
        rest = slash + path
    _check_escapes(rest)
    return GoURL(scheme, raw_query, False)


def _split_scheme(text: str) -> tuple[str, str]:
    for i, ch in enumerate(text):
        if ch.isascii() and ch.isalpha():
            continue
        if ch.isascii() and (ch.isdigit() or ch in "+-."):
            if i == 0:
                return "", text
            continue
        if ch == ":":
            if i == 0:
                raise URLError(msg.INVALID_URL)  # Go: missing protocol scheme
            return text[:i].lower(), text[i + 1:]
        return "", text
    return "", text


def _check_escapes(text: str) -> None:
    i = 0
    while i < len(text):
        if text[i] == "%":
            if len(text) < i + 3 or text[i + 1] not in _HEX or text[i + 2] not in _HEX:
                raise URLError(msg.INVALID_URL)
            i += 3
        else:
            i += 1


def _check_authority(authority: str) -> None:
    userinfo, at, host = authority.rpartition("@")
    if at:
        allowed = set(_ALNUM + "-._:~!$&'()*+,;=%@")
        if any(c not in allowed for c in userinfo):
            raise URLError(msg.INVALID_URL)
        _check_escapes(userinfo)
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise URLError(msg.INVALID_URL)  # Go: missing ']' in host
        port = host[end + 1:]
        if port and not (port.startswith(":") and port[1:].isdigit() or port == ":"):
            raise URLError(msg.INVALID_URL)
    elif ":" in host:
        port = host[host.rfind(":") + 1:]
        if port and not (port.isascii() and port.isdigit()):
            raise URLError(msg.INVALID_URL)  # Go: invalid port after host
    if any(c in " <>\"`{}|\\^" for c in host):
        raise URLError(msg.INVALID_URL)
    _check_escapes(host)
    for i, ch in enumerate(host):
        # RFC 3986: in a host, %-encoding is only for non-ASCII bytes (and %25 for IPv6 zones)
        if ch == "%" and int(host[i + 1], 16) < 8 and host[i:i + 3] != "%25":
            raise URLError(msg.INVALID_URL)


def query_values(raw_query: str) -> dict[str, list[str]]:
    """Go's url.ParseQuery, keeping the pairs it can decode."""
    values: dict[str, list[str]] = {}
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        try:
            _check_escapes(key)
            _check_escapes(value)
        except URLError:
            continue
        from urllib.parse import unquote_plus

        values.setdefault(unquote_plus(key), []).append(unquote_plus(value))
    return values


def validate_url(source: str, version: str) -> None:
    """Ignition's validateURL for resource sources of spec `version` (config/v3_*/types/url.go);
    raise URLError on a bad one. An empty source is accepted (callers check it where Ignition does)."""
    if source == "":
        return  # an empty source means an empty file
    url = parse_go_url(source)
    if url.scheme in ("http", "https", "tftp") or url.scheme == "gs" and has(version, "url.gs"):
        return
    if url.scheme == "s3":
        _check_s3_version_id(url)
        return
    if url.scheme == "arn" and has(version, "url.arn"):
        _check_s3_arn(source)
        _check_s3_version_id(url)
        return
    if url.scheme == "data":
        check_data_url(source)
        return
    raise URLError(msg.INVALID_SCHEME)


def validate_tang_url(source: str) -> None:
    url = parse_go_url(source)
    if url.scheme not in ("http", "https"):
        raise URLError(msg.INVALID_SCHEME)


def _check_s3_version_id(url: GoURL) -> None:
    values = query_values(url.raw_query)
    if "versionId" in values and (not values["versionId"] or values["versionId"][0] == ""):
        raise URLError(msg.INVALID_S3_OBJECT_VERSION_ID)


def _check_s3_arn(source: str) -> None:
    # arn:partition:service:region:account:resource; S3 objects are either
    # "bucket/key" or "accesspoint/name/object/key".
    sections = source.split("?", 1)[0].split(":", 5)
    if len(sections) != 6 or sections[2] != "s3":
        raise URLError(msg.INVALID_S3_ARN)
    resource = sections[5]
    parts = resource.split("/")
    if resource.startswith("accesspoint/"):
        if len(parts) < 4 or parts[2] != "object" or not parts[1] or not parts[3]:
            raise URLError(msg.INVALID_S3_ARN)
    elif len(parts) < 2 or not parts[0] or not parts[1]:
        raise URLError(msg.INVALID_S3_ARN)


# --- data URLs (RFC 2397), with the messages of the Go library Ignition uses ---

_TSPECIALS = set('()<>@,;:\\"/[]?=')
_URIC = set(_ALNUM + "-_.!~*'()" + ";/?:@&=+$,")
_BASE64 = set(_ALNUM + "+/=")


def _is_token_char(ch: str) -> bool:
    return 0x20 < ord(ch) < 0x7F and ch not in _TSPECIALS


def check_data_url(source: str) -> None:
    """Raise URLError with the decoder's message if `source` is not a valid data URL."""
    if not source.startswith("data:"):
        raise URLError("missing data prefix")
    rest = source[len("data:"):]
    base64, data = _data_url_header(rest)
    _check_data(data, base64)


def _data_url_header(rest: str) -> tuple[bool, str]:
    """Lex "[type/subtype][;attr=value]...[;base64]," and return (base64, data)."""
    if rest == "":
        raise URLError("missing comma before data")
    i = 0
    media_type = None
    if rest[0] not in ",;":
        if not _is_token_char(rest[0]):
            raise URLError("invalid character after data prefix")
        while i < len(rest) and rest[i] != "/":
            if not _is_token_char(rest[i]):
                raise URLError("invalid character for media type")
            i += 1
        if i == len(rest):
            raise URLError("missing media type slash")
        media_type = rest[:i]
        i += 1
        start = i
        while i < len(rest) and _is_token_char(rest[i]):
            i += 1
        if i == len(rest):
            raise URLError("incomplete media type" if media_type == "text" else "invalid media type")
        if rest[i] not in ",;" or i == start:
            raise URLError("invalid media type")

    def parameter_error(plain: str) -> URLError:
        # with a media type, the library reports every parameter problem this way
        return URLError("invalid media type" if media_type is not None else plain)

    while rest[i] == ";":
        i += 1
        start = i
        while i < len(rest) and _is_token_char(rest[i]):
            i += 1
        attribute = rest[start:i]
        if i == len(rest):
            raise parameter_error("unterminated parameter sequence")
        if rest[i] == "=":
            if attribute == "":
                raise parameter_error("unterminated parameter sequence")
            i += 1
            start = i
            while i < len(rest) and _is_token_char(rest[i]):
                i += 1
            if i == len(rest):
                raise parameter_error("missing comma before data")
            if i == start or rest[i] not in ",;":
                raise URLError("invalid character for parameter value")
            continue
        if rest[i] == ",":
            if attribute == "base64":
                return True, rest[i + 1:]
            raise parameter_error(f"expected base64, got {attribute}")
        raise parameter_error("invalid character for parameter attribute")
    return False, rest[i + 1:]


# Fast paths for the common, valid case; the loop below finds the exact error.
_URIC_DATA = re.compile(r"(?:[A-Za-z0-9\-_.!~*'();/?:@&=+$,]|%[0-9A-Fa-f]{2})*")
_BASE64_DATA = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _check_data(data: str, base64: bool) -> None:
    if base64:
        if "%" not in data and len(data) % 4 == 0 and _BASE64_DATA.fullmatch(data):
            return
    elif _URIC_DATA.fullmatch(data):
        return
    allowed = _BASE64 if base64 else _URIC
    decoded: list[str] = []
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "%":
            if len(data) < i + 3:
                raise URLError("rfc2396: unexpected end of unescape sequence")
            if data[i + 1] not in _HEX or data[i + 2] not in _HEX:
                raise URLError("rfc2396: invalid char 0x25 in unescape sequence")
            decoded.append(chr(int(data[i + 1:i + 3], 16)))
            i += 3
            continue
        if ch not in allowed:
            raise URLError("invalid data character")
        decoded.append(ch)
        i += 1
    if base64:
        position = _base64_error_position("".join(decoded))
        if position is not None:
            raise URLError(f"illegal base64 data at input byte {position}")


def _base64_error_position(text: str) -> int | None:
    """Where Go's strict StdEncoding decoder would fail, or None if it decodes."""
    alphabet = set(_ALNUM + "+/")
    for quantum in range(0, len(text), 4):
        chunk = text[quantum:quantum + 4]
        for offset, ch in enumerate(chunk):
            if ch == "=":
                # padding is only valid as "xx==" or "xxx=" at the very end
                if offset < 2 or quantum + 4 != len(text) or (offset == 2 and chunk[3:] != "="):
                    return quantum + offset
                break
            if ch not in alphabet:
                return quantum + offset
        if len(chunk) < 4 and "=" not in chunk:
            return quantum
    return None

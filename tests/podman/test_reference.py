"""Image references: the grammar's known examples, and the grammar itself as an oracle."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings, strategies as st

from stoker.podman.reference import Reference, ReferenceError, parse_reference

HEX64 = "a" * 64


@pytest.mark.parametrize("text,expected", [
    ("registry.ebisc.org/ebisc/nginx:latest", Reference("registry.ebisc.org", "ebisc/nginx", "latest")),
    (f"localhost:5000/a/b@sha256:{HEX64}", Reference("localhost:5000", "a/b", None, f"sha256:{HEX64}")),
    ("docker.io/library/busybox", Reference("docker.io", "library/busybox")),
    ("host:5000/x", Reference("host:5000", "x")),
    ("localhost/x", Reference("localhost", "x")),
    ("192.168.1.1:5000/x:1.0", Reference("192.168.1.1:5000", "x", "1.0")),
    ("Registry.Example.org/x", Reference("Registry.Example.org", "x")),      # a host may have capitals
    ("ebisc/nginx", Reference("", "ebisc/nginx")),                            # no dot: a path, a short name
    ("host:5000", Reference("", "host", "5000")),                             # no slash: repository and tag
    ("test_com", Reference("", "test_com")),
    ("lowercase:Uppercase", Reference("", "lowercase", "Uppercase")),         # a tag may have capitals
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", Reference("sub-dom1.foo.com", "bar/baz/quux", "some-long-tag")),
    ("b.gcr.io/test.example.com/my-app:test.example.com",
     Reference("b.gcr.io", "test.example.com/my-app", "test.example.com")),
    ("xn--n3h.com/myimage:xn--n3h.com", Reference("xn--n3h.com", "myimage", "xn--n3h.com")),
    ("a__b/c---d/e.f_g", Reference("", "a__b/c---d/e.f_g")),
    (f"img:tag@sha256:{HEX64}", Reference("", "img", "tag", f"sha256:{HEX64}")),
    (f"img@sha512:{'0' * 128}", Reference("", "img", None, f"sha512:{'0' * 128}")),
    ("x:" + "t" * 128, Reference("", "x", "t" * 128)),
])
def test_valid(text, expected):
    ref = parse_reference(text)
    assert ref == expected
    assert str(ref) == text


def test_name_and_short():
    ref = parse_reference("registry.ebisc.org/ebisc/nginx:latest")
    assert ref.name == "registry.ebisc.org/ebisc/nginx" and not ref.short
    assert parse_reference("nginx:1").short


@pytest.mark.parametrize("text,says", [
    ("tracker::lat est", ['"lat est" contains a space', '"::" is not allowed']),
    ("https://host/img:1", ['a URL scheme ("https://") is not part of an image reference', 'write "host/img:1"']),
    ("docker://quay.io/x:1", ['transport prefix "docker://"']),
    ("registry.ebisc.org/Ebisc/nginx", ['repository name must be lowercase ("Ebisc")']),
    ("Uppercase:tag", ["repository name must be lowercase"]),
    ("Docker/docker", ["repository name must be lowercase"]),   # no dot: a path, so capitals count
    ("x:" + "t" * 129, ["tag longer than 128 characters (129)"]),
    ("x/" * 127 + "xx", ["repository name longer than 255 characters (256)"]),
    (f"img@md5:{'a' * 32}", ['digest algorithm "md5" is not supported']),
    (f"img@sha256:{'a' * 63}", ["sha256 digest has the wrong length: 63 hex digits, not 64"]),
    (f"img@sha256:{'A' * 64}", ["sha256 digest must be lowercase hex"]),
    ("img@sha256", ["not algorithm:hex"]),
    ("[::1]:5000/x", ["IPv6 hosts in brackets are not accepted"]),
    ("[fe80::1%eth0]:5000/x", ["IPv6"]),
    ("", ["empty"]),
    (":justtag", ['starts with ":"']),
    (f"@sha256:{HEX64}", ['starts with "@"']),
    ("a//b", ["empty path component"]),
    ("a/b/", ['ends with "/"']),
    ("x:", ['ends with ":"']),
    ("aa/asdf$$^/aa", ['path component "asdf$$^" contains "$", "^"']),
    ("-a/b", ['"-a" must start and end']),
    ("a..b", ["separator run"]),
    ("x:.tag", ['tag ".tag" must start with']),
    ("x:t+g", ['tag "t+g" contains "+"']),
    ("reg.org:port/x", ['port "port" of "reg.org:port" is not a number']),
    ("reg_istry.org/x", ['host part "reg_istry"']),
    (HEX64, ["image ID"]),
    ("a@b@c", ['more than one "@"']),
])
def test_invalid(text, says):
    with pytest.raises(ReferenceError) as err:
        parse_reference(text)
    msg = str(err.value)
    assert msg.startswith("invalid reference format: ")
    for part in says:
        assert part in msg


def test_reference_error_is_a_value_error():
    assert issubclass(ReferenceError, ValueError)


# --- the grammar as an oracle -------------------------------------------------------------------
# Podman 5's acceptance, composed from the grammar in stoker.podman.reference's docstring
# (containers/image docker/reference regexp.go + normalize.go + go-digest), plus this module's one
# documented strictness: a first part with "." or ":" (or "localhost") must be a valid host.

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # "-*" upstream: the same names, without backtracking
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"({_NAME})(?::([\w][\w.-]{{0,127}}))?(?:@({_DIGEST}))?", re.ASCII)
_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def podman_accepts(text: str) -> bool:
    m = _REFERENCE.fullmatch(text)
    if not m or len(m.group(1)) > 255 or re.fullmatch(r"[a-f0-9]{64}", text):
        return False
    if m.group(3):
        algorithm, hexpart = m.group(3).split(":", 1)
        if _LENGTHS.get(algorithm) != len(hexpart) or hexpart != hexpart.lower():
            return False
    first, slash, rest = m.group(1).partition("/")
    hostlike = bool(slash) and ("." in first or ":" in first or first == "localhost")
    if hostlike:
        return re.fullmatch(_DOMAIN, first) is not None
    return m.group(1) == m.group(1).lower()  # normalize.go: the repository name must be lowercase


_pieces = st.sampled_from(["a", "b", "z9", "A", "reg.io", "localhost", "host:5000", "_", "__", ".", "-", "--",
                           ":", "/", "@", "sha256:" + HEX64, "sha256:" + "F" * 64, "latest", "v1.2", " "])


@settings(max_examples=600, deadline=None)
@given(st.lists(_pieces, max_size=8).map("".join))
@example("reg.io/a:latest")
@example("localhost/a@sha256:" + HEX64)
def test_agrees_with_the_grammar(text):
    try:
        parse_reference(text)
        accepted = True
    except ReferenceError:
        accepted = False
    assert accepted == podman_accepts(text), text

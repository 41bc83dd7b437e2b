"""Container image references (`Image=` of a Quadlet file), checked as Podman 5 parses them.

    ref = parse_reference("registry.ebisc.org/ebisc/nginx:latest")
    ref.domain, ref.path, ref.tag, ref.digest  -> "registry.ebisc.org", "ebisc/nginx", "latest", None
    ref.name                                   -> "registry.ebisc.org/ebisc/nginx"
    parse_reference("tracker::lat est")        -> ReferenceError: invalid reference format: "tracker::lat est":
                                                  "lat est" contains a space; "::" is not allowed: ...

Grammar (facts from the `reference` package: github.com/distribution/reference
regexp.go, reference.go, normalize.go; Podman 5 uses the copy in containers/image,
go.podman.io/image/v5/docker/reference, vendored in podman v5.8.2):

    reference  := name [":" tag] ["@" digest]
    name       := [domain "/"] component ("/" component)*        at most 255 characters
    domain     := host [":" port]       host := label ("." label)*           port := [0-9]+
    label      := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
    component  := [a-z0-9]+ (separator [a-z0-9]+)*                separator := "." | "_" | "__" | "-"+
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex     Podman accepts sha256 / sha384 / sha512 with exactly
                                        64 / 96 / 128 lowercase hex digits (opencontainers/go-digest)

The first part is a domain only when it contains "." or ":" or is "localhost"
(normalize.go's splitDockerDomain; the same rule decides short names in
containers/image pkg/shortnames); "ebisc/nginx" is a path, not host "ebisc".
"host:5000" alone is repository "host" with tag "5000". One deliberate
strictness: a first part that looks like a host ("reg_istry.org/x") but is not
a valid one is refused here, where Podman would take the whole text as a short
name ("reg_istry.org/x" searched on every registry), surely not what was meant.
The 255-character limit is checked on the name as written.

IPv6 hosts in brackets ("[::1]:5000/img"): distribution/reference accepts them
since v0.6.0, but the older copy Podman 5 parses with (containers/image
docker/reference, "a copy of docker/distribution/reference as of commit
3226863", unchanged for IPv6 in podman's main branch of May 2026) does not, so
they are refused here.

What Podman then does with a parsed reference (documented, not done here):
- short names (no domain): resolved through registries.conf(5): short-name
  aliases, then `unqualified-search-registries`; Fedora's `short-name-mode =
  "enforcing"` fails an ambiguous name in a service, which has no TTY
  ("short-name resolution enforced but cannot prompt without a TTY"), and
  Quadlet since Podman 4.5 warns "... which not a fully qualified image name".
  The fleet always prefixes its registry (fleet.definitions.full_image), so a
  short name here means a definition bypassed that.
- docker.io: "index.docker.io" becomes "docker.io", and a one-part path on
  docker.io gets "library/" ("docker.io/busybox" is "docker.io/library/busybox").
- no tag and no digest means ":latest"; a tag *and* a digest: the tag is
  dropped and the digest pulled (libimage NormalizeName).
- Quadlet's `Image=` may also name another Quadlet unit ("x.image", "x.build");
  that is not an image reference and not checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_MAX = 255       # reference.go NameTotalLengthMax
TAG_MAX = 128        # regexp.go tag: one character, then {0,127}
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}  # go-digest algorithm.go

_LABEL = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?")
_PORT = re.compile(r"[0-9]+")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_DIGEST_ALGORITHM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*")
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Podman's own transports (containers-transports(5)); "docker://" is one, not a URL.
_TRANSPORT_PREFIXES = ("docker://", "docker-archive:", "docker-daemon:", "oci:", "oci-archive:", "dir:",
                       "containers-storage:")


class ReferenceError(ValueError):
    """The text is not an image reference Podman 5 would accept; the message says what is wrong."""


@dataclass(frozen=True)
class Reference:
    """A parsed reference. `domain` is "" for a short name; `tag`/`digest` are None when absent."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def short(self) -> bool:
        """True when Podman would resolve the name through registries.conf (no domain)."""
        return not self.domain

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str) -> Reference:
    """Parse an image reference; raise ReferenceError naming every problem found."""
    problems = _lexical_problems(text)
    if problems:
        raise ReferenceError(_message(text, problems))
    rest, _, digest = text.partition("@")
    name, tag = _split_tag(rest)
    domain, path = _split_domain(name)
    problems = []
    if _IMAGE_ID.fullmatch(text):
        problems.append("a 64-character hex string is an image ID, not a name")
    if domain:
        problems += _domain_problems(domain)
    problems += _path_problems(path)
    if len(name) > NAME_MAX:
        problems.append(f"repository name longer than {NAME_MAX} characters ({len(name)})")
    if tag is not None:
        problems += _tag_problems(tag)
    if digest:
        problems += _digest_problems(digest)
    if problems:
        raise ReferenceError(_message(text, problems))
    return Reference(domain, path, tag, digest or None)


def _q(s: str) -> str:
    return f'"{s}"'


def _message(text: str, problems: list[str]) -> str:
    # Podman's own words first, so an operator can search for them.
    return f"invalid reference format: {_q(text)}: " + "; ".join(problems)


def _lexical_problems(text: str) -> list[str]:
    """Mistakes that make the parts meaningless: checked first, reported alone."""
    if not text:
        return ["the reference is empty"]
    scheme = _SCHEME.match(text)
    if scheme:
        prefix = scheme.group(0)
        if prefix in _TRANSPORT_PREFIXES:
            return [f"the transport prefix {_q(prefix)} is not part of an image reference; "
                    f"write {_q(text[len(prefix):])}"]
        return [f"a URL scheme ({_q(prefix)}) is not part of an image reference; write {_q(text[len(prefix):])}"]
    if text.startswith(_TRANSPORT_PREFIXES):
        prefix = next(p for p in _TRANSPORT_PREFIXES if text.startswith(p))
        return [f"the transport prefix {_q(prefix)} is not part of an image reference"]
    if "[" in text or "]" in text:
        return ["IPv6 hosts in brackets are not accepted by the reference parser Podman 5 uses "
                "(containers/image docker/reference); use a host name"]
    problems = []
    for piece in dict.fromkeys(re.split(r"[/:@]", text)):
        for ch, what in ((" ", "a space"), ("\t", "a tab"), ("\n", "a newline")):
            if ch in piece:
                problems.append(f"{_q(piece)} contains {what}")
    if "::" in text:
        problems.append('"::" is not allowed: one ":" separates a tag (or a port)')
    if text.count("@") > 1:
        problems.append('more than one "@": only one digest may follow the name')
    if text.endswith((":", "@", "/")):
        problems.append(f"ends with {_q(text[-1])}")
    if text.startswith(("/", ":", "@")):
        problems.append(f"starts with {_q(text[0])}")
    return problems


def _split_tag(rest: str) -> tuple[str, str | None]:
    """name, tag: the tag is after the last ":" that follows the last "/"."""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1:]
    return rest, None


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, remainder
    return "", name


def _domain_problems(domain: str) -> list[str]:
    host, sep, port = domain.partition(":")
    problems = []
    if sep and not _PORT.fullmatch(port):
        problems.append(f"port {_q(port)} of {_q(domain)} is not a number")
    for label in host.split("."):
        if not _LABEL.fullmatch(label):
            what = "is empty" if not label else "may hold only letters, digits and inner \"-\""
            problems.append(f"host part {_q(label)} of {_q(domain)} {what}")
    return problems


def _path_problems(path: str) -> list[str]:
    problems = []
    for component in path.split("/"):
        if _COMPONENT.fullmatch(component):
            continue
        if not component:
            problems.append(f"empty path component in {_q(path)}")
        elif _COMPONENT.fullmatch(component.lower()):
            problems.append(f"repository name must be lowercase ({_q(component)})")
        else:
            problems.append(_component_problem(component))
    return problems


def _component_problem(component: str) -> str:
    bad = sorted(set(re.sub(r"[a-zA-Z0-9._-]", "", component)))
    if bad:
        return f"path component {_q(component)} contains {', '.join(_q(c) for c in bad)}"
    if not component[0].isalnum() or not component[-1].isalnum():
        return f"path component {_q(component)} must start and end with a lowercase letter or digit"
    return (f"path component {_q(component)} has a separator run Podman refuses "
            f'(one ".", one or two "_", or "-"s between letters/digits)')


def _tag_problems(tag: str) -> list[str]:
    problems = []
    if len(tag) > TAG_MAX:
        problems.append(f"tag longer than {TAG_MAX} characters ({len(tag)})")
    if not _TAG.fullmatch(tag):
        bad = sorted(set(re.sub(r"[A-Za-z0-9_.-]", "", tag)))
        if bad:
            problems.append(f"tag {_q(tag)} contains {', '.join(_q(c) for c in bad)}")
        else:
            problems.append(f"tag {_q(tag)} must start with a letter, digit or \"_\"")
    return problems


def _digest_problems(digest: str) -> list[str]:
    algorithm, sep, hexpart = digest.partition(":")
    if not sep or not _DIGEST_ALGORITHM.fullmatch(algorithm):
        return [f"digest {_q(digest)} is not algorithm:hex (e.g. sha256:<64 hex digits>)"]
    want = DIGEST_HEX_LENGTHS.get(algorithm)
    if want is None:
        known = ", ".join(DIGEST_HEX_LENGTHS)
        return [f"digest algorithm {_q(algorithm)} is not supported ({known})"]
    problems = []
    if not re.fullmatch(r"[0-9a-fA-F]*", hexpart):
        problems.append(f"{algorithm} digest has characters that are not hex digits")
    elif hexpart != hexpart.lower():
        problems.append(f"{algorithm} digest must be lowercase hex")
    if len(hexpart) != want:
        problems.append(f"{algorithm} digest has the wrong length: {len(hexpart)} hex digits, not {want}")
    return problems

"""Ignition's own reading of a whole .ign document: parse, version, types, validation.

The steps and their order follow Ignition v2.26.0 (what Butane v0.29.0 vendors):
  config/util/config.go GetConfigVersion   empty input; JSON syntax; the version read
                                           through a small stub struct
  config/v3_*/config.go ParseCompatibleVersion / Parse
                                           the version must be one spec's exactly;
                                           json.Unmarshal into that spec's structs
  config/validate/validate.go ValidateWithContext
                                           semantic checks (struct order), then
                                           duplicates, then unused keys

Where stoker goes further than Ignition, which stops at the first problem of
decoding: every type error is reported, and the checks still run on the values
that decoded (entries at or below a mistyped value are dropped, as that value is
what is wrong there).

Positions are 1-based lines and byte columns of the UTF-8 text, as Ignition
counts them, of the value at the entry's path (of the key for "unused key"),
or of its nearest ancestor present in the text. A syntax error points at the
offending byte (Ignition points just past it).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..report import ERROR, WARNING, Entry
from . import messages as msg
from .bootfail import boot_failures
from .decode import decode, unused_key_findings
from .duplicates import find_duplicates
from .gojson import JSONSyntaxError, ObjectNode, parse_document, plain, to_bytes
from .semantic import SemanticValidator
from .structs import GoType, TreeField, struct_tree
from .versions import SUPPORTED_VERSIONS, parse_semver, spec_of

# config/util/config.go versionStub: struct { Ignition struct { Version string } }, no json tags,
# so its keys are the Go field names (matched case-insensitively like any field).
_STUB = GoType("struct", "util.versionStub", name="versionStub", fields=(
    TreeField("Ignition", GoType("struct", "struct { Version string }", name="", fields=(
        TreeField("Version", GoType("string", "string"), False, "check"),)), False, "check"),))


@dataclass
class DocumentResult:
    """What validate_document found; `entries` in Ignition's order."""

    version: str | None   # the supported spec the document is (normalised: "03.1.0" -> "3.1.0"), or the
                          # version text as read when it parses but is not supported; None if unreadable
    config: dict | None   # the parsed JSON object as written (later duplicate keys win), or None
    entries: list[Entry] = field(default_factory=list)
    # What Ignition's validation accepts but its files stage cannot do at boot
    # (stoker.ignition.bootfail): errors of stoker's, apart from Ignition's verdict.
    boot: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when Ignition would accept the document (warnings allowed)."""
        return not any(entry.kind == ERROR for entry in self.entries)


class _Lines:
    """Byte offset -> (line, column), both 1-based, columns counting bytes."""

    def __init__(self, data: bytes) -> None:
        self.starts = [0] + [match.end() for match in re.finditer(b"\n", data)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def validate_document(data: bytes | str) -> DocumentResult:
    """Validate an Ignition config document as Ignition would, for any spec in SUPPORTED_VERSIONS.

    `data`: the document's bytes, or its text (a str is read as its UTF-8 bytes).
    Returns a DocumentResult; entries are stoker.report.Entry with a JSON path
    tuple, Ignition's message and a position. Never raises on any input.
    """
    raw = to_bytes(data)
    lines = _Lines(raw)

    def entry(kind: str, path: tuple, message: str, offset: int) -> Entry:
        line, column = lines.at(offset)
        return Entry(kind, path, message, line, column)

    if not raw:
        return DocumentResult(None, None, [entry(ERROR, (), msg.EMPTY, 0)])
    try:
        root = parse_document(raw)
    except JSONSyntaxError as error:
        return DocumentResult(None, None, [entry(ERROR, (), str(error), error.offset)])
    config = plain(root) if isinstance(root, ObjectNode) else None

    # GetConfigVersion: only ignition.version is typed at this point
    stub = decode(root, _STUB)
    if stub.type_errors:
        return DocumentResult(None, config, [entry(ERROR, _lower(path), message, offset)
                                             for path, message, offset in stub.type_errors])
    text = stub.config.get("Ignition", {}).get("Version", "")
    version = spec_of(text)
    if version is None:
        readable = parse_semver(text) is not None
        message = msg.UNKNOWN_VERSION + _known_versions() if readable else msg.INVALID_VERSION
        # The entry is the version, even when it is missing; its position is that of the nearest node.
        where = max((p for p in ((), ("Ignition",), ("Ignition", "Version")) if p in stub.positions), key=len)
        return DocumentResult(text if readable else None, config,
                              [entry(ERROR, ("ignition", "version"), message, stub.positions[where])])

    tree = struct_tree(version)
    decoded = decode(root, tree)
    entries = [entry(ERROR, path, message, offset) for path, message, offset in decoded.type_errors]
    mistyped = [path for path, _, _ in decoded.type_errors]
    checks = (SemanticValidator(version).config(decoded.config)
              + find_duplicates(decoded.config, version))
    for found in checks:
        if not any(found.path[:len(bad)] == bad for bad in mistyped):
            offset = _nearest(decoded.positions, found.path)
            entries.append(entry(found.kind, found.path, found.message, offset))
    entries += [entry(WARNING, path, message, offset)
                for path, message, offset in unused_key_findings(decoded, tree)]
    boot = [entry(found.kind, found.path, found.message, _nearest(decoded.positions, found.path))
            for found in boot_failures(config or {})
            if not any(found.path[:len(bad)] == bad for bad in mistyped)]
    return DocumentResult(version, config, entries, boot)


def _lower(path: tuple) -> tuple:
    """The stub's Go field names as the config's JSON names."""
    return tuple(part.lower() for part in path)


def _known_versions() -> str:
    return f" (stoker knows {', '.join(SUPPORTED_VERSIONS)})"


def _nearest(positions: dict, path: tuple) -> int:
    while path not in positions:
        path = path[:-1]
    return positions[path]

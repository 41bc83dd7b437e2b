"""Ignition's own checks on a config: parsing, semantic validation and JSON Schemas.

    validate_document(data)        a whole .ign document as Ignition reads it: JSON, version,
                                   Go types, validation, duplicates, unused keys, with positions
    validate(config, version)      Ignition's validation messages for a generated config
                                   (duplicates first, as Butane reports them)
    check_schema(config, version)  structure against schemas/ignition-<version>.json
    parse_config(text)             JSON parsing with Go encoding/json's error texts

Specs 3.0.0 to 3.7.0-experimental (SUPPORTED_VERSIONS), following Ignition
v2.26.0, the release Butane v0.29.0 vendors. Configs are plain dicts as
json.loads returns them (camelCase keys). Every entry has a JSON path; mapping
paths back to YAML is the caller's job.
"""

from __future__ import annotations

from ..report import Entry
from .duplicates import find_duplicates
from .semantic import SemanticValidator
from .versions import SUPPORTED_VERSIONS, check_supported


def __getattr__(name: str):
    # Loaded on first use (PEP 562). jsonschema costs ~80 ms to import: only
    # check_schema needs it. `stoker butane` needs validate() alone: the JSON
    # parser and document checks stay off its start-up path.
    if name == "check_schema":
        from .schema import check_schema
        return check_schema
    if name in ("DocumentResult", "validate_document"):
        from . import document
        return getattr(document, name)
    if name == "parse_config":
        from .gojson import parse_config
        return parse_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["SUPPORTED_VERSIONS", "DocumentResult", "validate", "validate_document", "check_schema",
           "parse_config"]


def validate(config: dict, version: str) -> list[Entry]:
    """Ignition's validation of `config` as spec `version`: duplicates first, then the rest.

    Raises ValueError for a version not in SUPPORTED_VERSIONS. The same rules
    as validate_document (Ignition v2.26.0, which Butane v0.29.0 vendors), on
    an already decoded config.
    """
    check_supported(version)
    if not isinstance(config, dict):
        return []
    return find_duplicates(config, version) + SemanticValidator(version).config(config)

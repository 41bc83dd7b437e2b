"""Ignition's own checks on a generated config: semantic validation and JSON Schemas.

    validate(config, version)      Ignition's validation messages, in Ignition's order
    check_schema(config, version)  structure against schemas/ignition-<version>.json
    parse_config(text)             JSON parsing with Go encoding/json's error texts

Configs are plain dicts as json.loads returns them (camelCase keys). Every entry
has a JSON path; mapping paths back to YAML is the caller's job.
"""

from __future__ import annotations

from ..report import Entry
from .duplicates import find_duplicates
from .gojson import parse_config
from .schema import check_schema
from .semantic import SemanticValidator
from .versions import SUPPORTED_VERSIONS, check_supported

__all__ = ["SUPPORTED_VERSIONS", "validate", "check_schema", "parse_config"]


def validate(config: dict, version: str) -> list[Entry]:
    """Ignition's validation of `config` as spec `version`: duplicates first, then the rest."""
    check_supported(version)
    if not isinstance(config, dict):
        return []
    return find_duplicates(config) + SemanticValidator(version).config(config)

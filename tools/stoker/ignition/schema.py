"""Structural check of an Ignition config against schemas/ignition-<version>.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from ..report import ERROR, Entry
from .versions import check_supported

# The repository's schemas/ folder: tools/stoker/ignition/ -> repo root.
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"


@lru_cache(maxsize=None)
def _validator(version: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"ignition-{version}.json").read_text())
    return Draft202012Validator(schema)


def check_schema(config: dict, version: str) -> list[Entry]:
    check_supported(version)
    errors = sorted(_validator(version).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [Entry(ERROR, tuple(error.absolute_path), _describe(error)) for error in errors]


def _describe(error) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        return f"unknown key {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}"
    if error.validator == "const" and error.absolute_path and error.absolute_path[-1] == "version":
        return f"version must be {error.validator_value!r} for this schema, got {error.instance!r}"
    return error.message

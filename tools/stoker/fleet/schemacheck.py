"""JSON Schema checks of our own inputs, with messages that name the key and its position."""

from __future__ import annotations

import copy
import difflib
import json
from functools import lru_cache
from pathlib import Path

import jsonschema

from .errors import Problem
from .located import Marks

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"

_TYPE_WORDS = {"string": "a string", "integer": "an integer", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "empty (null)", "number": "a number"}


@lru_cache(maxsize=None)
def load_schema(name: str, partial: bool = False) -> dict:
    """A schema from schemas/; `partial` drops every `required` (for files that extend another)."""
    schema = json.loads((SCHEMA_DIR / name).read_text())
    if partial:
        schema = _drop_required(copy.deepcopy(schema))
    return schema


def _drop_required(node):
    if isinstance(node, dict):
        node.pop("required", None)
        for v in node.values():
            _drop_required(v)
    elif isinstance(node, list):
        for v in node:
            _drop_required(v)
    return node


def _type_name(value) -> str:
    for t, py in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float),
                  ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, py):
            return _TYPE_WORDS[t]
    return type(value).__name__


def _properties(schema: dict, root: dict) -> set[str]:
    """Every property name a (sub)schema allows, following local $refs and allOf."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        s = stack.pop()
        if not isinstance(s, dict):
            continue
        if "$ref" in s and s["$ref"].startswith("#/"):
            target = root
            for part in s["$ref"][2:].split("/"):
                target = target[part]
            stack.append(target)
        names.update(s.get("properties", {}))
        stack.extend(s.get("allOf", []))
    return names


def _leaf_errors(error):
    """oneOf/anyOf errors hide the real cause in their context: report every error
    of the branch that got furthest (a mapping's errors, not "is not null")."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)

        def depth(errors):
            non_null = not any(e.validator == "type" and e.validator_value == "null" for e in errors)
            return (non_null, max(len(e.absolute_path) for e in errors), -len(errors))

        for e in max(branches.values(), key=depth):
            yield from _leaf_errors(e)
        return
    yield error


def check(data, marks: Marks, schema: dict, file: str) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for top in validator.iter_errors(data):
        for error in _leaf_errors(top):
            problems.extend(_explain(error, marks, schema, file))
    return problems


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _explain(error, marks: Marks, root: dict, file: str) -> list[Problem]:
    path = tuple(error.absolute_path)
    where = marks.value(path)

    def at(w, message):
        if w is None:
            return Problem(file, None, None, message)
        return Problem(w[0], w[1], w[2], message)

    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        allowed = _properties(error.schema, root)
        if error.validator == "additionalProperties" and error.schema.get("additionalProperties") is not False:
            return [at(where, f"{_dotted(path)}: {error.message}")]
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
            msg = f"unknown key {key!r} in {_dotted(path)}"
            msg += f"; did you mean {hint[0]!r}?" if hint else f"; allowed keys: {', '.join(sorted(allowed))}"
            out.append(at(marks.key(path + (key,)), msg))
        return out
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
        return [at(where, f"{_dotted(path)}: expected {words}, got {_type_name(error.instance)}")]
    if error.validator == "required":
        return [at(where, f"{_dotted(path)}: {error.message}")]
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return [at(where, f"{_dotted(path)}: {error.instance!r} is not one of {choices}")]
    if error.validator == "pattern":  # "x-form" in the schema: the form in words, instead of the regex
        form = error.schema.get("x-form") or error.validator_value
        return [at(where, f"{_dotted(path)}: {error.instance!r} is not in the expected form ({form})")]
    if error.validator == "propertyNames":
        return [at(where, f"{_dotted(path)}: {error.message}")]
    return [at(where, f"{_dotted(path)}: {error.message}")]

"""Reading yamlv3's output back (tests/butane/test_yamlv3.py and the openshift
property test of test_properties.py): PyYAML's composer gives the structure, each
scalar's text and style, and the text is compared with the value it was written
from, keys in yaml.v3's order, plain style only for text that reads back as a
string."""

from __future__ import annotations

import yaml

from stoker.butane.yamlv3 import format_number, plain_reads_as_string, sort_keys


class Other(str):
    """The text of a number, boolean or null: written plain, as is."""


def expected(value):
    """`value` with its non-string scalars as the text yaml.v3 writes for them."""
    if isinstance(value, dict):
        return {k: expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, bool):
        return Other("true" if value else "false")
    if value is None:
        return Other("null")
    if isinstance(value, int):
        return Other(format_number(value))
    return value


def read_as(text: str, style) -> str:
    """What a reader gets back for `text` written in `style`: a literal block loses
    a leading newline (the official tool's lossy case, SPEC-VARIANTS §7.5)."""
    return text[1:] if style == "|" and text.startswith("\n") else text


def same_text(node, want: str) -> bool:
    if node.style == "|" and "\n" not in want:
        return False  # only text with a newline is written as a block
    return read_as(want, node.style) == node.value


def read_back(node, want):
    """Compare a composed node with the expected value; check key order and styles."""
    if isinstance(node, yaml.MappingNode):
        originals = []
        for k, v in node.value:
            match = [w for w in want if w not in originals and same_text(k, w)]
            assert match, (k.value, list(want))
            originals.append(match[0])
            read_back(v, want[match[0]])
        assert len(originals) == len(want)
        assert originals == sort_keys(originals)
    elif isinstance(node, yaml.SequenceNode):
        assert len(node.value) == len(want)
        for item, w in zip(node.value, want):
            read_back(item, w)
    elif isinstance(want, Other):
        assert (node.style, node.value) == (None, want)
    else:
        assert same_text(node, want), (node.value, node.style, want)
        if node.style is None:
            assert plain_reads_as_string(node.value)

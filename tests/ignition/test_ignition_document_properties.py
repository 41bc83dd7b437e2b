"""validate_document never raises, and every entry it gives has a path and a position.

Documents are valid configs of each spec with random JSON values spliced in at
random places, the same with random bytes written over them, and plain random
bytes.
"""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.ignition import SUPPORTED_VERSIONS, validate_document

DATA = Path(__file__).parent / "data"
VALID = [path.read_text() for path in sorted((DATA / "specs").glob("*.ign"))] + \
        [path.read_text() for path in sorted(DATA.glob("*/plain.stdout"))]

KEYS = ["ignition", "version", "storage", "files", "path", "contents", "source", "systemd", "units", "name",
        "disks", "partitions", "luks", "clevis", "tang", "raid", "links", "target", "mode", "httpHeaders",
        "verification", "hash", "passwd", "users", "Path", "STORAGE", "ſtorage", "kernelArguments", "proxy",
        "number", "label", "sizeMiB", "startMiB", "device", "format", "cex", "custom", "pin", "level"]
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
           | st.sampled_from(["", "/a", "rel", "x.service", "data:,", "[Install]\n", "3.4.0", "a:b", "\ud800"])
           | st.text(max_size=8))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=4),
                           max_leaves=15)


def splice(config, path_choices, value):
    """Put `value` at a place in `config` chosen by the integers in `path_choices`."""
    node = config
    for choice in path_choices:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        containers = [(k, v) for k, v in children if isinstance(v, (dict, list))]
        if not containers or choice % 3 == 0:
            break
        node = containers[choice % len(containers)][1]
    if isinstance(node, dict):
        keys = list(node) + KEYS
        node[keys[path_choices[-1] % len(keys)] if path_choices else "storage"] = value
    elif node:
        node[(path_choices[-1] if path_choices else 0) % len(node)] = value
    else:
        node.append(value)
    return config


def check(data):
    result = validate_document(data)
    assert result.entries or result.ok
    for entry in result.entries:
        assert entry.kind in ("error", "warning") and entry.message
        assert isinstance(entry.path, tuple)
        assert isinstance(entry.line, int) and entry.line >= 1
        assert isinstance(entry.column, int) and entry.column >= 1
    if result.version is not None and result.ok:
        assert result.version in SUPPORTED_VERSIONS
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.integers(0, 50), max_size=6), json_values, st.booleans())
def test_spliced_values_never_break_validation(text, path_choices, value, indent):
    config = splice(json.loads(text), path_choices, value)
    check(json.dumps(config, indent=2 if indent else None, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 10**6), st.binary(min_size=1, max_size=6))
def test_overwritten_bytes_never_break_validation(text, where, garbage):
    data = bytearray(text.encode())
    at = where % len(data)
    data[at:at + len(garbage)] = garbage
    check(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_random_input_never_breaks_validation(data):
    check(data)

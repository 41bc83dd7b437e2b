"""Both YAML loaders (LibYAML when present, pure Python otherwise) give the same
nodes and positions, so reports point at the same spots either way."""

from pathlib import Path

import pytest
import yaml

from stoker.butane import source

INPUTS = sorted((Path(__file__).parent / "corpus").glob("*/input.bu")) \
    + sorted((Path(__file__).parent / "corpus-variants").glob("*/input.bu"))


def _marks(node, out):
    out.append((type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column,
                node.value if isinstance(node, yaml.ScalarNode) else None))
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _marks(k, out)
            _marks(v, out)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _marks(v, out)
    return out


@pytest.mark.skipif(source._FastLoader is None, reason="PyYAML built without LibYAML")
@pytest.mark.parametrize("path", INPUTS, ids=[p.parent.name for p in INPUTS])
def test_fast_and_pure_loaders_agree(path):
    text = path.read_text()
    assert _marks(source.compose(text), []) == _marks(source._compose_python(text), [])


@pytest.mark.parametrize("text, alias", [("a: /etc/*.conf\n", False), ("a: &x 1\nb: *x\n", True),
                                         ('{"a":*x}\n', True), ("- [*x]\n", True)])
def test_the_pure_loader_composes_where_an_alias_may_be(text, alias):
    import re

    from stoker.butane.source import _ALIAS

    assert bool(re.search(_ALIAS, text)) == alias

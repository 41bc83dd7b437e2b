"""Property tests: no input ends in a traceback. Mutated VM definitions,
fleet.yaml, secrets files and .ign files each end in exit 0 or 1 (2 for usage)
with messages that name the file the operator edits, never a secret value,
never build/ or a temporary path.

STOKER_PROPERTY_SCALE=N multiplies the number of examples.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.cli import main

from .conftest import COPIED, ROOT

SCALE = float(os.environ.get("STOKER_PROPERTY_SCALE", "1"))
SECRET_MARK = "S3CR3T-VALUE-"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                        HealthCheck.too_slow])

# Where a message may point: the files an operator edits.
LOCATED = re.compile(r"^(vms/[^:\s]+\.yaml|fleet\.yaml|butane/[^:\s]+|files/[^:\s]+|secrets\.yaml)(:\d+:\d+)?: ",
                     re.M)


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    return root


@pytest.fixture
def no_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    import stoker.podman.dryrun as dryrun
    monkeypatch.setattr(dryrun, "quadlet_dryrun", functools.partial(dryrun.quadlet_dryrun, host_generators=()))


def stoker(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            rc = exc.code
    return rc, out.getvalue() + err.getvalue()


# -- mutations of a YAML/JSON tree ------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "x" * 300, "../../etc/passwd", "/etc/passwd", "{{ nosuch.name }}", "{{ hosts }}",
                     "tracker::lat est", "https://host/img:1", "daily at 8", "*-*-* 25:00:00", "0:80", "80:0",
                     "99999:1", "ten minutes", "Europe/Londn", "NET_BIND_SERVIC", "w" * 278, "a\nb", "\x00",
                     "\ud800", "0777", "777", "-1", "null", "~", "%", "$(rm -rf /)", "'", '"', "\\"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)), max_leaves=6)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


def apply(tree, path, action, value, key):
    tree = copy.deepcopy(tree)
    if not path:
        return value if action == "replace" else tree
    parent = tree
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent[last], dict):
        parent[last][key] = value
    elif action == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    return tree


@st.composite
def mutated(draw, tree):
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        all_paths = list(paths(tree))
        path = draw(st.sampled_from(all_paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        tree = apply(tree, path, action, draw(VALUES), draw(st.text(max_size=12)))
    return tree


def dump(tree) -> str:
    try:
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeEncodeError):
        return yaml.safe_dump(tree, sort_keys=False)


@st.composite
def text_mutation(draw, text):
    """Bytes-level damage: an insertion, a deletion or a truncation."""
    pos = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["insert", "delete", "truncate"]))
    if kind == "insert":
        return text[:pos] + draw(st.sampled_from([":", "-", "[", "{", "\t", "  ", "\n", "&a", "*a", "!!binary",
                                                   "<<: *a", "? ", "%", "@", "`", "\x1b", "\ufeff"])) + text[pos:]
    if kind == "delete":
        return text[:pos] + text[pos + draw(st.integers(1, 20)):]
    return text[:pos]


def assert_clean(rc, out, *, secrets_path=None):
    assert rc in (0, 1), out
    assert SECRET_MARK not in out, "a secret value reached the output"
    if rc == 1:
        if secrets_path:
            out = out.replace(str(secrets_path), "secrets.yaml")
        assert "build/" not in out and "/tmp/" not in out, out
        assert LOCATED.search(out) or "stoker: error:" in out, out


def render(repo, build, secrets=None, vm="tracker"):
    args = ["ignition", vm, "--root", str(repo), "--build-dir", str(build)]
    args += ["--secrets", str(secrets)] if secrets else ["--dev-secrets"]
    return stoker(*args)


# -- the properties -----------------------------------------------------------------------

TRACKER = yaml.safe_load((ROOT / "vms/tracker.yaml").read_text())
STAGING = yaml.safe_load((ROOT / "vms/ims-staging.yaml").read_text())
FLEET = yaml.safe_load((ROOT / "fleet.yaml").read_text())


@settings(max_examples=examples(60), **SETTINGS)
@given(data=st.data())
def test_mutated_vm_definitions(repo, no_tools, tmp_path, data):
    name, tree = data.draw(st.sampled_from([("tracker", TRACKER), ("ims-staging", STAGING)]))
    original = (repo / f"vms/{name}.yaml").read_text()
    text = dump(data.draw(mutated(tree)))
    if data.draw(st.booleans()):
        text = data.draw(text_mutation(text))
    try:
        (repo / f"vms/{name}.yaml").write_text(text)
        rc, out = render(repo, tmp_path / "build", vm=name)
        assert_clean(rc, out)
        if rc == 0:
            assert (tmp_path / "build" / f"{name}.ign").exists()
            # what renders also validates, or says why not (never a traceback)
            rc2, out2 = stoker("validate", name, "--root", str(repo))
            assert rc2 in (0, 1), out2
    finally:
        (repo / f"vms/{name}.yaml").write_text(original)


@settings(max_examples=examples(40), **SETTINGS)
@given(data=st.data())
def test_mutated_fleet_yaml(repo, no_tools, tmp_path, data):
    original = (repo / "fleet.yaml").read_text()
    text = dump(data.draw(mutated(FLEET)))
    if data.draw(st.booleans()):
        text = data.draw(text_mutation(text))
    try:
        (repo / "fleet.yaml").write_text(text)
        rc, out = render(repo, tmp_path / "build", vm="bastion")
        assert_clean(rc, out)
    finally:
        (repo / "fleet.yaml").write_text(original)


SECRETS = {vm: {n: SECRET_MARK + n for n in names}
           for vm, names in (yaml.safe_load((ROOT / "secrets.example.yaml").read_text()) or {}).items()
           for names in [list(names or {})]}


@settings(max_examples=examples(40), **SETTINGS)
@given(data=st.data())
def test_mutated_secrets_files(repo, no_tools, tmp_path, data):
    tree = data.draw(mutated(SECRETS))
    text = dump(tree)
    if data.draw(st.booleans()):
        text = data.draw(text_mutation(text))
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    os.chmod(path, 0o600)
    rc, out = render(repo, tmp_path / "build", secrets=path)
    assert_clean(rc, out, secrets_path=path)


def _rendered_ign() -> dict:
    from stoker.fleet.definitions import load_fleet
    from stoker.fleet.render import render_vm
    from stoker.fleet.secrets import load_secrets

    return json.loads(render_vm(load_fleet(ROOT), "tracker", load_secrets(None, environ={}, dev=True)).full_ignition)


IGN = _rendered_ign()


@settings(max_examples=examples(60), **SETTINGS)
@given(data=st.data())
def test_mutated_ignition_files(no_tools, tmp_path, data):
    tree = data.draw(mutated(IGN))
    try:
        text = json.dumps(tree)
    except (ValueError, TypeError):
        text = json.dumps(IGN)
    if data.draw(st.booleans()):
        text = data.draw(text_mutation(text))
    path = tmp_path / "config.ign"
    path.write_text(text, errors="surrogatepass")
    rc, out = stoker("validate", str(path))
    assert rc in (0, 1), out
    if rc == 1:
        assert "config.ign" in out or "failed" in out, out


@pytest.mark.parametrize("args", [["validate", "--podman"], ["ignition", "--provider", "nosuch"], ["nosuch"]])
def test_usage_errors_exit_2(args):
    rc, out = stoker(*args)
    assert rc == 2 and "usage:" in out

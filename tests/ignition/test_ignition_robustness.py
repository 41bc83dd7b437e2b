"""validate() and check_schema() report problems; they never crash on odd input."""

from hypothesis import given, settings
from hypothesis import strategies as st

from stoker.ignition import SUPPORTED_VERSIONS, check_schema, validate
from stoker.ignition.goformat import clean_path, extension, go_quote

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5000) | st.sampled_from(["", "/a", "x", "data:,", "[Install]\n"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["ignition", "version", "storage", "files", "path", "contents", "source", "systemd",
                         "units", "name", "disks", "partitions", "luks", "clevis", "tang", "raid", "links",
                         "target", "mode", "httpHeaders", "verification", "hash", "passwd", "users"]),
        children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(SUPPORTED_VERSIONS))
def test_validate_never_raises(value, version):
    config = value if isinstance(value, dict) else {"storage": value}
    for entry in validate(config, version):
        assert entry.kind in ("error", "warning") and isinstance(entry.path, tuple) and entry.message
    for entry in check_schema(config, version):
        assert entry.kind == "error" and isinstance(entry.path, tuple)


def test_go_path_clean():
    assert [clean_path(p) for p in ("", "/", "//a//b/", "/a/./b/../c", "a/../..", "/../x")] == \
        [".", "/", "/a/b", "/a/c", "..", "/x"]


def test_go_extension():
    assert [extension(n) for n in ("a.service", "a", "a.d/b", ".conf", "x.tar.gz")] == \
        [".service", "", "", ".conf", ".gz"]


def test_go_quote():
    assert go_quote('a"b\\c\n\x01é\u2028') == '"a\\"b\\\\c\\n\\x01é\\u2028"'

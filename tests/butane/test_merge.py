"""Ignition's merge rules, as used for Butane's generated parts and for fragments."""

from stoker.butane.merge import merge_butane, merge_ignition, merge_with_transcript


def test_units_keyed_by_name_child_wins_and_keeps_parent_position():
    parent = {"systemd": {"units": [{"name": "a.service", "enabled": True, "contents": "A"},
                                    {"name": "b.service"}]}}
    child = {"systemd": {"units": [{"name": "c.service"}, {"name": "a.service", "enabled": False}]}}
    units = merge_ignition(parent, child)["systemd"]["units"]
    assert [u["name"] for u in units] == ["a.service", "b.service", "c.service"]
    assert units[0] == {"name": "a.service", "enabled": False, "contents": "A"}


def test_neither_side_loses_units_from_two_fragments():
    a = {"systemd": {"units": [{"name": "x.service"}]}}
    b = {"systemd": {"units": [{"name": "y.service"}]}}
    assert [u["name"] for u in merge_butane(a, b)["systemd"]["units"]] == ["x.service", "y.service"]


def test_files_links_and_directories_share_the_path_keyspace():
    parent = {"storage": {"files": [{"path": "/etc/a"}, {"path": "/etc/b"}]}}
    child = {"storage": {"links": [{"path": "/etc/a", "target": "/etc/b"}]}}
    merged = merge_ignition(parent, child)["storage"]
    assert merged["files"] == [{"path": "/etc/b"}]
    assert merged["links"] == [{"path": "/etc/a", "target": "/etc/b"}]


def test_append_and_option_lists_are_concatenated():
    parent = {"storage": {"files": [{"path": "/f", "append": [{"source": "data:,1"}]}],
                          "filesystems": [{"device": "/dev/vdb", "options": ["-m0"]}]}}
    child = {"storage": {"files": [{"path": "/f", "append": [{"source": "data:,2"}]}],
                         "filesystems": [{"device": "/dev/vdb", "options": ["-E", "x"]}]}}
    merged = merge_ignition(parent, child)["storage"]
    assert [a["source"] for a in merged["files"][0]["append"]] == ["data:,1", "data:,2"]
    assert merged["filesystems"][0]["options"] == ["-m0", "-E", "x"]


def test_partitions_keyed_by_number_else_label():
    parent = {"storage": {"disks": [{"device": "/dev/sda", "partitions": [
        {"number": 1, "label": "a"}, {"label": "root-1"}]}]}}
    child = {"storage": {"disks": [{"device": "/dev/sda", "partitions": [
        {"number": 1, "sizeMiB": 5}, {"label": "root-1", "sizeMiB": 10240}, {"label": "new"}]}]}}
    parts = merge_ignition(parent, child)["storage"]["disks"][0]["partitions"]
    assert parts == [{"number": 1, "label": "a", "sizeMiB": 5},
                     {"label": "root-1", "sizeMiB": 10240}, {"label": "new"}]


def test_kernel_arguments_share_a_keyspace():
    parent = {"kernelArguments": {"shouldExist": ["quiet", "a=1"]}}
    child = {"kernelArguments": {"shouldNotExist": ["quiet"]}}
    merged = merge_ignition(parent, child)["kernelArguments"]
    assert merged == {"shouldExist": ["a=1"], "shouldNotExist": ["quiet"]}


def test_header_with_null_child_value_is_deleted():
    parent = {"ignition": {"config": {"replace": {"source": "https://x", "httpHeaders": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}}}}
    child = {"ignition": {"config": {"replace": {"httpHeaders": [{"name": "A"}]}}}}
    headers = merge_ignition(parent, child)["ignition"]["config"]["replace"]["httpHeaders"]
    assert headers == [{"name": "B", "value": "2"}]


def test_transcript_names_the_side_and_path_of_every_result_field():
    parent = {"systemd": {"units": [{"name": "gen.mount", "enabled": True}]}}
    child = {"systemd": {"units": [{"name": "user.service"}, {"name": "gen.mount", "enabled": False}]}}
    _, transcript = merge_with_transcript(parent, child)
    assert transcript[("systemd", "units", 0, "enabled")] == ("child", ("systemd", "units", 1, "enabled"))
    assert transcript[("systemd", "units", 1, "name")] == ("child", ("systemd", "units", 0, "name"))


def test_inputs_are_not_modified():
    parent = {"storage": {"files": [{"path": "/a", "mode": 1}]}}
    child = {"storage": {"files": [{"path": "/a", "mode": 2}]}}
    merge_ignition(parent, child)
    assert parent["storage"]["files"][0]["mode"] == 1

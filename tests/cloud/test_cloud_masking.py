"""Secrets masked by value: whatever a variable is called and however its value
is quoted, escaped or encoded, no secret of the deployed or the new config
shows in anything `stoker plan`, `deploy` (dry run, real, failing) or `status`
prints."""

from __future__ import annotations

import base64
import re
import shutil

import pytest
from cloud_testdata import SECRETS, data_url, secrets_config, tracker_config

from stoker.cloud.diff import MASK, Masker, diff_configs, mask_text, render, secret_values

NEW_SECRETS = {"PASSPHRASE": "tr0ub4dor & 3 (second)", "DB_PASS": "n3w[pass]+?", "DB_PASSWORD": "new pa ss",
               "WEIRD_VALUE": "back\\slash$HOME", "APP_PIN": "9z1"}


def _leaks(text: str, secrets) -> list[str]:
    """Every secret that can be read in `text`: as it is, or inside any
    base64-looking run decoded at each alignment."""
    found = [s for s in secrets if s in text]
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        for skip in range(4):
            piece = run[skip:]
            piece = piece[:len(piece) - len(piece) % 4]
            try:
                decoded = base64.b64decode(piece).decode("utf-8", "replace")
            except ValueError:
                continue
            found += [f"{s} (base64)" for s in secrets if s in decoded]
    return found


def _assert_masked(output: str, secrets=tuple(SECRETS.values())) -> None:
    assert not _leaks(output, secrets), _leaks(output, secrets)


# -- the Masker -------------------------------------------------------------------

def test_every_value_of_the_env_files_is_collected_whatever_its_name():
    values = secret_values(secrets_config())
    assert set(SECRETS.values()) <= values
    assert "tracker" not in values, "/etc/stoker/vm is not a secret env file"


@pytest.mark.parametrize("text", [
    'Environment="DB_PASSWORD=pa ss word"',
    "Environment='DB_PASSWORD=pa ss word'",
    "passphrase: correct horse battery staple",
    "PASSPHRASE=correct\\ horse\\ battery\\ staple",
    '{"env": "WEIRD_VALUE=do$llar\\\\back"}',
    "Environment=\"WEIRD_VALUE=do$$llar\\\\back\"",
    "postgres://app:Zq9%21pl%23x%28.%2A%29@db/app",
    "ExecStart=/bin/app --password=Zq9!pl#x(.*) --verbose",
])
def test_a_known_value_is_masked_in_every_form_it_takes(text):
    mask = Masker.for_configs(secrets_config())
    assert MASK in mask(text)
    for value in SECRETS.values():
        assert value not in mask(text)
    assert "horse" not in mask(text) and "pa ss" not in mask(text)


def test_a_value_inside_base64_is_masked_at_every_alignment():
    mask = Masker(["correct horse battery staple"])
    for prefix in ("", "a", "ab", "abc"):
        encoded = base64.b64encode(f"{prefix}correct horse battery staple!".encode()).decode()
        assert MASK in mask(f"Authorization: Basic {encoded}")


def test_short_values_are_masked_only_as_a_whole_assignment_value():
    mask = Masker(["x7q"])
    assert mask("APP_PIN=x7q") == f"APP_PIN={MASK}"
    assert mask('PIN="x7q" pin: x7q') == f'PIN="{MASK}" pin: {MASK}'
    assert mask("x7q-backup.service") == "x7q-backup.service", "ordinary text keeps a short value's letters"


def test_regex_metacharacters_in_a_value_are_literal():
    mask = Masker(["a.*b"])
    assert mask("a.*b and aXXb") == f"{MASK} and aXXb"


def test_the_name_patterns_catch_quoted_values_with_spaces_and_short_names():
    masked = mask_text('Environment="DB_PASSWORD=pa ss word"\nDB_PASS=hunter2\nSMTP_PWD: x\nBYPASS_CACHE=1')
    assert "pa ss" not in masked and "word" not in masked and "hunter2" not in masked
    assert "SMTP_PWD: " + MASK in masked and "BYPASS_CACHE=1" in masked


def test_the_diff_shows_no_secret_of_either_config():
    lines = "\n".join(render(diff_configs(secrets_config(), secrets_config(NEW_SECRETS))))
    _assert_masked(lines, [*SECRETS.values(), *NEW_SECRETS.values()])
    assert "~ unit app-migrate.service (changed)\n    only secret values changed" in lines


# -- the commands -------------------------------------------------------------------

def test_no_command_prints_a_secret(fake, repo, stoker):
    repo.write_build(secrets_config())
    outputs = []

    def run(*argv, expect=None):
        code, out, err = stoker(*argv)
        outputs.append((argv, out + err))
        if expect is not None:
            assert code == expect, out + err
        return out + err

    text = run("plan", "tracker", "--detailed-exitcode", expect=2)
    assert "+ file /etc/app/config.yaml (added)" in text and "+database: postgres://app:" + MASK in text
    assert 'Environment="DB_PASSWORD=' + MASK + '"' in text
    run("deploy", "tracker", "--dry-run", expect=0)
    run("deploy", "tracker", "--yes", expect=0)
    run("status", expect=0)
    run("status", "--json", expect=0)

    repo.write_build(secrets_config(NEW_SECRETS))
    text = run("plan", "tracker", "--detailed-exitcode", expect=2)
    assert "only secret values changed" in text
    run("deploy", "tracker", "--dry-run", expect=0)
    fake.reject_rebuild_user_data = True  # Nova's 400 quotes the user_data it rejects
    text = run("deploy", "tracker", "--yes", expect=1)
    assert "HTTP 400" in text and "Invalid input for field/attribute user_data. Value:" in text
    fake.reject_rebuild_user_data = False
    fake.ignition_outcome = "failure"
    text = run("deploy", "tracker", "--yes", expect=1)
    assert "Ignition reported failure" in text
    fake.ignition_outcome = "success"
    run("deploy", "tracker", "--yes", "--force", expect=0)
    run("status", expect=0)
    for argv, output in outputs:
        assert not _leaks(output, [*SECRETS.values(), *NEW_SECRETS.values()]), (argv, output)


def test_a_refusal_built_from_the_config_is_masked(fake, repo, stoker):
    """A label is no secret, but an error message made of config content goes
    through the same mask: here the new filesystem label is a secret's value."""
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    doc = secrets_config()
    doc["storage"]["filesystems"][0]["label"] = SECRETS["DB_PASSWORD"]  # xfs labels: 12 characters at most
    repo.write_build(doc)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "label" in err and MASK in err
    _assert_masked(out + err)


def test_masking_a_large_odd_file_takes_linear_time():
    """A plan must not hang on a big file: the secret scan once took 14 s on
    40 KB of `_PASS` (quadratic backtracking); 200 KB of each shape now takes
    well under a second."""
    import time

    from cloud_testdata import data_url, tracker_config

    doc = tracker_config()
    for i, chunk in enumerate(("_PASS" * 40000, "x" * 200000, "a.b-" * 50000, '"PASSWORD=' * 20000, "x://" * 50000)):
        doc["storage"]["files"].append({"path": f"/etc/odd/{i}", "contents": {"source": data_url(chunk)}})
    start = time.monotonic()
    render(diff_configs(tracker_config(), doc))
    assert time.monotonic() - start < 10


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_a_validation_refusal_that_quotes_a_unit_line_masks_the_secret(fake, repo, stoker):
    config = tracker_config()
    config["storage"]["files"].append({"path": "/etc/stoker/web.env", "mode": 0o600,
                                       "contents": {"source": data_url('DB_PASSWORD="pa ss word"\n')}})
    config["systemd"]["units"].append({"name": "web.service", "enabled": True, "contents":
                                       '[Service]\nEnvironment="DB_PASSWORD=pa ss word\nExecStart=/bin/true\n'
                                       "[Install]\nWantedBy=multi-user.target\n"})
    repo.write_build(config)
    for command in (("plan", "tracker"), ("deploy", "tracker", "--yes")):
        code, out, err = stoker(*command)
        assert code == 1 and "does not pass validation" in err
        assert "pa ss word" not in out + err


def test_a_value_with_spaces_is_masked_whole_and_its_first_word_nowhere_else():
    doc = tracker_config()
    doc["storage"]["files"].append({"path": "/etc/stoker/app.env", "mode": 0o600, "contents": {
        "source": data_url("MONGODB_PASS=mongo pass  two  spaces\n")}})
    values = secret_values(doc)
    assert "mongo pass  two  spaces" in values and "mongo" not in values
    mask = Masker(values)
    assert mask("Requires=mongodb.service\nMONGODB_PASS=mongo pass  two  spaces") == \
        f"Requires=mongodb.service\nMONGODB_PASS={MASK}"


def test_hints_keep_stokers_own_words(fake, repo, stoker):
    doc = tracker_config()
    doc["storage"]["files"] = [f for f in doc["storage"]["files"] if f["path"] != "/etc/hostname"]
    repo.write_build(doc)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "make ignition vm=tracker secrets=FILE" in err, err

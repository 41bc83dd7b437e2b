"""The report as `stoker butane` prints it without --raw-errors, by butane
v0.29.0's rules (internal/report/report.go formatErrorEntry; review #14): an
entry whose column is past its line's end prints as its raw line; the column
is used as a byte offset, and the carets run in bytes to the next space."""

from __future__ import annotations

from corpus_util import run_stoker

HEAD = "variant: fcos\nversion: 1.4.0\n"
MISMATCH = ("context tree does not match content tree at $.passwd. Line and column reporting may "
            "be inconsistent. Unused keys may not be reported")


def _run(tmp_path, text: str):
    (tmp_path / "in.bu").write_text(text)
    return run_stoker(["in.bu"], tmp_path)


def test_a_column_past_the_end_of_its_line_prints_the_raw_line(tmp_path):
    run = _run(tmp_path, HEAD + "passwd:\n")
    assert (run.rc, run.stderr) == (0, f"warning at $.passwd, line 3 col 8: {MISMATCH}\n")


def test_a_column_at_a_space_gets_no_carets(tmp_path):
    # after a two-byte character, the key's column is the byte before it: a space
    run = _run(tmp_path, HEAD + "passwd: {users: [{name: é, bogus: 1}]}\n")
    assert run.rc == 0
    assert run.stderr == (
        "warning[$.passwd.users.0.bogus]:\n"
        "  --> in.bu:3:28\n"
        "   |\n"
        " 1 | variant: fcos\n"
        " 2 | version: 1.4.0\n"
        " 3 | passwd: {users: [{name: é, bogus: 1}]}\n"
        "   |                             unused key bogus\n"
        " 4 | \n"
        "   |\n")


def test_multibyte_characters_before_the_column_shift_the_underline(tmp_path):
    run = _run(tmp_path, HEAD + "passwd: {users: [{name: éé, bogus: 1}]}\n")
    assert run.stderr.splitlines()[6] == "   |                             ^ unused key bogus"


def test_carets_count_bytes(tmp_path):
    run = _run(tmp_path, HEAD + "é: 1\n")
    assert run.stderr.splitlines()[6] == "   | ^^^ unused key é"

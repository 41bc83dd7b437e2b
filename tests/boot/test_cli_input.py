"""Bad input to `stoker boot`, `boot-test` and `fleet-test` is refused before anything is built or booted."""

import pytest

from stoker.cli import main


@pytest.mark.parametrize("command", [["boot-test", "x.ign"], ["boot", "x.ign"], ["fleet-test"]])
@pytest.mark.parametrize("option,value,says", [
    ("--memory", "0", "at least 512"),
    ("--memory", "-5", "at least 512"),
    ("--memory", "511", "at least 512"),
    ("--memory", "1.5", "whole number"),
    ("--timeout", "nan", "finite number of seconds greater than 0"),
    ("--timeout", "inf", "finite number of seconds greater than 0"),
    ("--timeout", "-1", "finite number of seconds greater than 0"),
    ("--timeout", "0", "finite number of seconds greater than 0"),
])
def test_out_of_range_option_values_are_usage_errors(tmp_path, monkeypatch, capsys, command, option, value, says):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as exc:
        main([*command, f"{option}={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: must be" in err and says in err and repr(value) in err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_fleet_test_needs_at_least_one_cpu(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["fleet-test", f"--cpus={value}"])
    assert exc.value.code == 2
    assert "argument --cpus: must be a whole number, at least 1" in capsys.readouterr().err


def test_sensible_values_are_taken():
    from stoker.cliparser import build_parser
    args = build_parser(["boot-test"]).parse_args(["boot-test", "x.ign", "--memory", "512", "--timeout", "0.5"])
    assert (args.memory, args.timeout) == (512, 0.5)
    args = build_parser(["fleet-test"]).parse_args(["fleet-test", "--cpus", "2"])
    assert (args.cpus, args.memory, args.timeout) == (2, 1536, 1800.0)


@pytest.mark.parametrize("command", ["boot-test", "boot"])
@pytest.mark.parametrize("image", ["offline", "fcos"])
def test_a_spec_2_config_is_refused_before_anything_is_built(tmp_path, monkeypatch, capsys, command, image):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = tmp_path / "old.ign"
    config.write_text('{"ignition": {"version": "2.3.0"}}')
    assert main([command, str(config), "--image", image]) == 1
    err = capsys.readouterr().err
    top = "3.3.0" if image == "offline" else "3.6.0"
    assert f"{config}: the config is Ignition spec 2.3.0" in err
    assert f"reads spec 3.0.0 to {top} only (spec 2.x configs are not read)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "cache").exists()


def test_image_standins_builds_the_probe_image_too(monkeypatch, tmp_path):
    """`make standins` (stoker image standins) prebuilds every image the boot test serves, so a later
    boot test with probes builds nothing: the container probes' image is among them."""
    from stoker.boot import standins
    from stoker.boot.standins import report
    from stoker.boot.standins.catalog import PROBE, STANDINS
    asked = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(standins, "build_all", lambda chosen, **kw: asked.append(chosen) or [])
    monkeypatch.setattr(report, "standins_table", lambda built: "table")
    assert main(["image", "standins"]) == 0
    assert asked[-1] == STANDINS + (PROBE,)
    assert main(["image", "standins", "stoker-probe:latest"]) == 0
    assert asked[-1] == (PROBE,)


@pytest.mark.parametrize("command", [["boot-test", "x.ign"], ["boot", "x.ign"], ["fleet-test"]])
def test_stream_takes_the_streams_image_fetch_knows(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--stream", "nightly"])
    assert exc.value.code == 2
    assert "argument --stream: invalid choice: 'nightly'" in capsys.readouterr().err

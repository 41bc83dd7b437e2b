import pytest

from stoker.boot.errors import ImageError
from stoker.boot.serve import standins_for

FLEET = "registry.ebisc.org/ebisc"


def test_each_fleet_reference_finds_its_stand_in_with_latest_filled_in():
    found = standins_for([f"{FLEET}/nginx", f"{FLEET}/postgres:latest", f"{FLEET}/nginx:latest"], FLEET)
    assert [s.image for s in found] == ["nginx:latest", "postgres:latest"]


def test_references_no_stand_in_serves_are_all_named():
    with pytest.raises(ImageError) as exc:
        standins_for(["quay.io/example/web:1.0", f"{FLEET}/nginx:1.25", f"{FLEET}/nginx:latest"], FLEET)
    message = str(exc.value)
    assert "quay.io/example/web:1.0" in message and f"{FLEET}/nginx:1.25" in message
    assert "--registry real" in message


def test_a_short_name_is_refused():
    with pytest.raises(ImageError, match="registry host"):
        standins_for(["nginx:latest"], FLEET)

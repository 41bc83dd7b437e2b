"""Quadlet files as stoker renders them, with every option it knows set: shared by the key and dry-run tests."""

from __future__ import annotations

from types import SimpleNamespace

from stoker.fleet import quadlet as fleet_quadlet
from stoker.fleet.definitions import Container, Mount


def every_option_container(kind: str, enabled: bool) -> Container:
    """A container using every field stoker.fleet.quadlet turns into a key."""
    return Container(
        name="web", kind=kind, image="registry.example.org/team/web:1.0", description="Web",
        command=["sh", "-c", "echo 50% done"], environment={"A": "b c"}, secrets=["PASS"],
        ports=["80:8080"], volumes=[Mount("/srv/data/web", "/data", "Z", True)], tmpfs=["/tmp"],
        read_only=True, cap_drop=["all"], cap_add=["NET_BIND_SERVICE"], user="1000", network="app",
        requires=["db"], wants=["x.service"], after=["db"], binds_to=["db"],
        exec_start_post=["/bin/true"], restart="on-failure", enabled=enabled)


def vm() -> SimpleNamespace:
    # container_unit reads only these two attributes of a VM
    return SimpleNamespace(file="vms/test.yaml", data_volume=SimpleNamespace(mount="/srv/data"))


def rendered_units() -> dict[str, str]:
    units = {"app.network": fleet_quadlet.network_unit(vm(), "app")}
    for kind in ("service", "job"):
        for enabled in (True, False):
            units[f"{kind}-{enabled}.container"] = fleet_quadlet.container_unit(
                vm(), every_option_container(kind, enabled))
    return units

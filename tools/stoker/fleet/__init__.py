"""The fleet as code: vms/*.yaml + fleet.yaml → build/<vm>.bu → build/<vm>.ign.

    fleet = load_fleet()                       # FleetError: problems with file:line:col
    secrets = load_secrets("secrets.yaml")     # or load_secrets(dev=True)
    rendered = render_vm(fleet, "tracker", secrets)
    write_rendered([rendered], Path("build"))  # .bu 0644, .ign 0600; all files or none
"""

from .definitions import Fleet, VM, load_fleet
from .errors import FleetError, Problem
from .render import Rendered, render_vm, write_rendered
from .secrets import Secrets, load_secrets

__all__ = ["Fleet", "VM", "load_fleet", "FleetError", "Problem", "Rendered", "render_vm",
           "write_rendered", "Secrets", "load_secrets"]

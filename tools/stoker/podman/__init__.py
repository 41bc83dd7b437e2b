"""Podman container definitions checked before they reach a VM, without Podman on this machine.

- `reference.parse_reference`: an image reference as Podman 5 parses it
- `capabilities.capability_problem` / `add_drop_problems`: AddCapability= / DropCapability= names
- `quadlet_keys.key_problem` / `unit_problems` / `parse_unit_sections`: Quadlet keys per section,
  with the Podman release that added each (`DEFAULT_TARGET_PODMAN`: what Fedora CoreOS stable ships)
- `dryrun.quadlet_dryrun`: the real Quadlet generator's dry run, from the host or from
  stoker's cached offline boot-test image; "skipped" (never an error) when neither is there
"""

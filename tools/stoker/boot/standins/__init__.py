"""Stand-in images for the fleet's registry, built from Debian packages, for the offline boot test.

Every image the fleet pulls from its registry (fleet.yaml `registry`, the
`image:` keys of vms/*.yaml) has a stand-in declared as data in catalog.py:
the packages, the files, the image config and the contract it keeps with the
real image (uid, ports, data paths, environment, commands). Images Debian
ships run the real program (nginx, PostgreSQL, certbot, duplicity); the rest
run program.py, which checks the contract and answers on the ports.

Public API (what the boot harness calls):
- `build_all(registry=...) -> [Built]`: the shared base layer, then every stand-in,
  from the cache (~/.cache/stoker/standins/<key>/) or built (root, mmdebstrap, umoci);
- `publish(built, registry, fleet_registry) -> {fleet reference: local reference}`:
  push them into a running `stoker.boot.registry.LocalRegistry` under the fleet's paths;
- `catalog.STANDINS`, `catalog.by_image()`: the declarations; `model.contract_json`: a contract.
"""

from .build import Built, build_all, build_base, build_standin, cached_base, cached_standin
from .catalog import BASE, STANDINS, by_image
from .publish import publish

__all__ = ["BASE", "STANDINS", "Built", "build_all", "build_base", "build_standin", "by_image", "cached_base",
           "cached_standin", "publish"]

import os
import sys
from pathlib import Path

import pytest

# Test helpers beside the tests import each other by module name.
for sub in Path(__file__).parent.iterdir():
    if sub.is_dir() and not sub.name.startswith((".", "_")):
        sys.path.insert(0, str(sub))

# Boots that cost many minutes each under TCG and have not yet been measured
# within CI's budget on an idle machine run only when asked for: STOKER_FULL_E2E=1
# (README "Tested end to end"). Without it they skip and say so.
FULL_E2E = os.environ.get("STOKER_FULL_E2E") == "1"


def pytest_collection_modifyitems(config, items):
    if FULL_E2E:
        return
    skip = pytest.mark.skip(reason="full end-to-end boot (minutes under TCG); run with STOKER_FULL_E2E=1")
    for item in items:
        if item.get_closest_marker("full_e2e"):
            item.add_marker(skip)

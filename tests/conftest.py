import os
import shutil
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


# What building and booting the boot tests' guest image takes (stoker.boot.image).
IMAGE_TOOLS = ("mmdebstrap", "qemu-system-x86_64", "qemu-img", "mke2fs", "ssh", "ssh-keygen",
               "docker-registry", "skopeo", "umoci")


def image_missing() -> str | None:
    """Why the guest image cannot be built here, or None."""
    if os.geteuid() != 0:
        return "building the image needs root"
    absent = [t for t in IMAGE_TOOLS if shutil.which(t) is None]
    return f"missing {', '.join(absent)} (see .ci/apt-packages)" if absent else None


@pytest.fixture(scope="module")
def image(request):
    """The boot tests' guest image (stoker.boot.image.build_image), built once
    per test module. Skipped, saying why, without root or one of IMAGE_TOOLS,
    or without a Python module the test module lists in `IMAGE_NEEDS`
    ((import name, what to pip install), ...)."""
    why = image_missing()
    if why:
        pytest.skip(why)
    for module, pip in getattr(request.module, "IMAGE_NEEDS", ()):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{pip} is not installed (pip install -e '.[test]')")
    from stoker.boot.image import build_image

    return build_image()

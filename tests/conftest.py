import sys
from pathlib import Path

# Test helpers beside the tests import each other by module name.
for sub in Path(__file__).parent.iterdir():
    if sub.is_dir() and not sub.name.startswith((".", "_")):
        sys.path.insert(0, str(sub))

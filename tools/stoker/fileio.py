"""Writing output files whole or not at all."""

from __future__ import annotations

import os


def _mkstemp(directory: str, path: str) -> tuple[int, str]:
    import tempfile  # here, not at the top: `stoker butane` to standard output never needs it (start-up)
    return tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")


def write_atomic(path: str | os.PathLike, data: bytes, mode: int = 0o644, *,
                 make_parents: bool = False) -> None:
    """Write all of `data` or nothing: a temporary file beside `path` with `mode`,
    then a rename over it; with `make_parents`, missing directories are created.

    A symlink is written through, and a device or FIFO (`-o /dev/stdout`) is
    written to directly, as the official Butane does."""
    path = os.path.realpath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") as f:
            f.write(data)
        return
    directory = os.path.dirname(path)
    if make_parents:
        os.makedirs(directory, exist_ok=True)
    fd, tmp = _mkstemp(directory, path)
    try:
        os.fchmod(fd, mode)  # before any byte is written: secrets are never readable
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_all_atomic(outputs: list[tuple[str | os.PathLike, bytes, int]], *, make_parents: bool = False,
                     remove: list[str | os.PathLike] = ()) -> None:
    """Write several files as one change: every file goes to a temporary file
    beside its target first (with its mode), and only when all are written are
    they renamed into place, then the files in `remove` deleted. Any error
    (a full disk, a directory in the way) raises OSError with nothing changed
    (the renames themselves, each atomic, cannot run out of space)."""
    staged: list[tuple[str, str]] = []
    try:
        for path, data, mode in outputs:
            path = os.path.realpath(path)
            directory = os.path.dirname(path)
            if make_parents:
                os.makedirs(directory, exist_ok=True)
            if os.path.isdir(path):
                raise IsADirectoryError(21, "Is a directory", path)
            fd, tmp = _mkstemp(directory, path)
            staged.append((tmp, path))
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    for path in remove:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

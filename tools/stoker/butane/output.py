"""Reading the input and writing the output of `stoker butane` as the official
Butane v0.29.0 CLI does (internal/main.go): the same files opened, the same
messages on failure, never a Python traceback.

Messages (Go's *PathError text after the official prefixes):
  failed to open X: open X: <errno text>        input or -o target cannot be opened
  failed to read X: read X: <errno text>        X is the input path or /dev/stdin
  Failed to write config to X: write X: <text>  X is the -o path or /dev/stdout
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from .resources import go_os_error

STDIN_NAME = "/dev/stdin"    # Go's os.Stdin.Name()
STDOUT_NAME = "/dev/stdout"  # Go's os.Stdout.Name()


class IOFailure(Exception):
    """A read or write failure, carrying the official CLI's whole message (no newline)."""


def _read_fd(fd: int, name: str) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except InterruptedError:
            continue
        except OSError as exc:
            raise IOFailure(f"failed to read {name}: {go_os_error('read', name, exc)}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def read_input(path: str | None) -> bytes:
    """The bytes of the file `path`, or of standard input when `path` is None.
    Raises IOFailure: an open error as "failed to open", a read error (a
    directory, a closed descriptor) as "failed to read" (Go opens a directory
    and fails on the read, so Python's EISDIR at open is reported as a read)."""
    if path is None:
        stdin = sys.stdin
        if stdin is not None and stdin is not sys.__stdin__:
            return stdin.buffer.read()  # redirected in-process (tests)
        return _read_fd(0, STDIN_NAME)
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError as exc:
        raise IOFailure(f"failed to read {path}: {go_os_error('read', path, exc)}") from None
    except OSError as exc:
        raise IOFailure(f"failed to open {path}: {go_os_error('open', path, exc)}") from None
    try:
        return _read_fd(fd, path)
    finally:
        os.close(fd)


def _write_fd(fd: int, data: bytes, name: str) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError as exc:
            if fd == 1 and exc.errno == errno.EPIPE:
                die_of_signal("SIGPIPE")  # as Go's runtime does on fd 1 (os/signal docs)
            raise IOFailure(f"Failed to write config to {name}: "
                            f"{go_os_error('write', name, exc)}") from None
        view = view[n:]


def die_of_signal(name: str) -> None:
    """End the process by the signal `name` ("SIGPIPE", "SIGINT") with its default action, as a
    Go program does on a broken standard output or Ctrl-C: no message, and the parent sees a
    death by that signal (a shell shows 128 + its number). Python ignores SIGPIPE and turns
    SIGINT into KeyboardInterrupt, so both are reset first."""
    import signal  # here: its enum import costs start-up

    signum = getattr(signal, name)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])


def write_stdout(data: bytes) -> None:
    """`data` to standard output, unbuffered (a full disk or a closed descriptor is
    reported here, not at interpreter exit). Raises IOFailure."""
    stdout = sys.stdout
    if stdout is not None and stdout is not sys.__stdout__:
        stdout.write(data.decode("utf-8", "surrogateescape"))  # redirected in-process (tests)
        stdout.flush()
        return
    _write_fd(1, data, STDOUT_NAME)


def _open_target(path: str) -> tuple[int, bool]:
    """Opens `path` for writing as os.OpenFile(O_WRONLY|O_CREATE, 0644) would,
    but without truncating; returns the descriptor and whether the file was created."""
    try:
        return os.open(path, os.O_WRONLY), False
    except FileNotFoundError:
        pass
    except NotADirectoryError:
        # with O_CREAT the kernel's answer can differ: "file/" is EISDIR, not ENOTDIR
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o644), False
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), True
    except FileExistsError:  # a dangling symlink (O_CREAT creates its target) or a race
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o644), False


def _replace_atomically(path: str, st: os.stat_result, data: bytes) -> bool:
    """Replaces the regular file `path` (described by `st`) by a new one with the
    same content owner, group and mode, by rename; False (nothing changed) when
    that would be visible (the directory not writable, the group not settable)."""
    import tempfile  # here: standard output needs none of this (start-up)

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    except OSError:
        return False
    try:
        try:
            if os.fstat(fd).st_gid != st.st_gid:
                os.fchown(fd, -1, st.st_gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            for name in os.listxattr(path):  # ACLs, SELinux labels, user.* tags: all of them
                os.setxattr(fd, name, os.getxattr(path, name))
        except OSError:
            os.close(fd)
            os.unlink(tmp)
            return False
        try:
            _write_fd(fd, data, path)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def write_output(path: str, data: bytes) -> None:
    """Writes `data` to the -o target `path` as the official tool does (it opens
    it with O_WRONLY|O_CREATE|O_TRUNC, mode 0644 less the umask, and writes):
    FIFOs, devices and /dev/stdout are written directly, symlinks followed,
    existing files keep their links, owner, mode and extended attributes (ACLs,
    SELinux label); an existing file we may not write is refused. One difference:
    a plain file (not a symlink, one link, ours, in a writable directory) is
    replaced by rename, so it gets a new inode, and a new file is removed when
    writing it fails, so a full disk never leaves a half-written config.
    Raises IOFailure."""
    try:
        fd, created = _open_target(path)
    except OSError as exc:
        raise IOFailure(f"failed to open {path}: {go_os_error('open', path, exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            _write_fd(fd, data, path)
            return
        if created:
            try:
                _write_fd(fd, data, path)
            except IOFailure:
                os.unlink(path)
                raise
            return
        lst = os.lstat(path)
        if (stat.S_ISREG(lst.st_mode) and lst.st_ino == st.st_ino and st.st_nlink == 1
                and st.st_uid == os.geteuid() and _replace_atomically(path, st, data)):
            return
        try:
            os.ftruncate(fd, 0)
        except OSError as exc:
            raise IOFailure(f"Failed to write config to {path}: "
                            f"{go_os_error('write', path, exc)}") from None
        _write_fd(fd, data, path)
    finally:
        os.close(fd)

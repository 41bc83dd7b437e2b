"""The one door to the cloud: an openstacksdk connection, with every SDK call
going through `Cloud.call`, which retries (with backoff) only on 5xx answers and
connection errors, and turns any other SDK exception into a stoker error that
names the VM, the server and the step. Connecting (Keystone authentication) is
retried the same way, as step `connect`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import keystoneauth1.exceptions as ks_exc
import openstack
import openstack.exceptions as os_exc
from openstack import utils as os_utils

from .errors import ApiError, CloudError


@dataclass(frozen=True)
class Timings:
    """Every wait has a timeout; tests shrink these to keep runs short."""
    poll: float = 5.0             # seconds between status polls
    active_timeout: float = 900.0  # server BUILD/REBUILD -> ACTIVE
    volume_timeout: float = 300.0  # volume creating -> available
    ignition_timeout: float = 600.0  # console shows Ignition's verdict
    retries: int = 4               # extra attempts after a 5xx or connection error
    backoff: float = 2.0           # first retry delay, doubled each time
    lock_settle: float = 3.0       # a rollout's lock is read back this long after it is written (stoker.rollout.lock)


# The libraries under this package that log: keystoneauth1 names its loggers
# "keystoneauth.*" (keystoneauth1/_utils.py get_logger), openstacksdk
# "openstack.*"; openstacksdk's own enable_logging() (openstack/_log.py) also
# gives urllib3 and stevedore a NullHandler.
LIBRARY_LOGGERS = ("keystoneauth", "openstack", "stevedore", "urllib3")


def quiet_library_logs() -> None:
    """Keep the cloud libraries' log records off stderr unless the caller asked
    for them.

    A record that meets no handler on its way up the logger tree goes to
    `logging.lastResort`, which prints WARNING and above to stderr; keystoneauth
    logs such warnings while stoker is still retrying ("Failed to discover
    available identity versions…", "Failure: Unable to establish connection…"),
    and stoker reports the outcome itself. A NullHandler on each library's top
    logger is a handler, so lastResort stays quiet; records still propagate, so
    a caller who configured logging (handlers on the root logger or on these
    loggers) keeps receiving them. Levels and propagation are left alone.
    Idempotent."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """exc, then what caused it (explicitly or implicitly), outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, os_exc.HttpException):
        return int(exc.status_code) if exc.status_code else None
    if isinstance(exc, ks_exc.HttpError):
        return int(getattr(exc, "http_status", 0) or 0) or None
    return None


def _root(exc: BaseException) -> BaseException:
    """The error that says what went wrong: exc itself when it carries an HTTP
    status or is a connection error, else the first such one it wraps.
    openstacksdk's Connection.authorize re-raises keystoneauth's errors as a
    bare SDKException (inside the except block, so as __context__), and
    keystoneauth's version discovery wraps them in DiscoveryFailure."""
    for e in _chain(exc):
        if _status(e) is not None or isinstance(e, ks_exc.ConnectionError):
            return e
    return exc


def _retryable(exc: BaseException) -> bool:
    """Connection refused, reset or timed out (keystoneauth's ConnectFailure and
    ConnectTimeout; not SSLError), or a 5xx answer, even when wrapped."""
    root = _root(exc)
    if isinstance(root, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout)):
        return True
    status = _status(root)
    return status is not None and 500 <= status < 600


def _connection_text(exc: ks_exc.ConnectionError) -> str:
    """'no connection to URL (Connection refused)' from keystoneauth's message
    (which reads "Unable to establish connection to URL: …" or "Request to URL
    timed out") and the socket error at the bottom of its chain."""
    url = re.search(r"https?://\S+?(?=:\s|\s|$)", str(exc))
    where = url.group(0) if url else "the cloud"
    reason = next((e.strerror or str(e) for e in reversed(list(_chain(exc)))
                   if isinstance(e, OSError) and type(e).__module__ in ("builtins", "socket", "http.client")
                   and (e.strerror or str(e))), None)
    if isinstance(exc, ks_exc.ConnectTimeout):
        return f"no answer in time from {where}" + (f" ({reason})" if reason else "")
    if isinstance(exc, ks_exc.ConnectFailure):
        return f"no connection to {where}" + (f" ({reason})" if reason else "")
    return f"{type(exc).__name__}: {exc}"


def _describe(exc: BaseException) -> tuple[str, int | None]:
    root = _root(exc)
    if isinstance(root, os_exc.HttpException):
        status = _status(root)
        detail = root.details or root.message or str(root)
        return f"HTTP {status}: {detail}", status
    if isinstance(root, ks_exc.HttpError):
        status = _status(root)
        return f"HTTP {status}: {root.message or root}", status
    if isinstance(root, ks_exc.ConnectionError):
        return _connection_text(root), None
    return f"{type(exc).__name__}: {exc}", None


class _GaveUp(Exception):
    """An SDK call failed for good: the last error, after `attempts` tries over `seconds`."""

    def __init__(self, exc: BaseException, attempts: int, seconds: float):
        super().__init__(str(exc))
        self.exc, self.attempts, self.seconds = exc, attempts, seconds

    def text(self) -> str:
        message, _ = _describe(self.exc)
        if self.attempts > 1:
            message += f" (gave up after {self.attempts} attempts in {self.seconds:.1f}s)"
        return message


def _attempt(step: str, fn: Callable[[], Any], timings: Timings, sleep: Callable[[float], None],
             retried: list[str], retry: bool = True) -> Any:
    """fn(), tried again after a connection error or a 5xx: `timings.retries`
    more times, waiting `timings.backoff` seconds, then twice as long each time.
    Each retry is noted in `retried` as "STEP: ERROR (attempt N of M, next in
    S s)". Any other SDK error, or the last one, raises _GaveUp."""
    delay, start = timings.backoff, time.monotonic()
    attempts = timings.retries + 1 if retry else 1
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except CloudError:
            raise
        except (os_exc.SDKException, ks_exc.ClientException) as exc:
            if _retryable(exc) and attempt < attempts:
                retried.append(f"{step}: {_describe(exc)[0]} (attempt {attempt} of {attempts}, next in {delay:g}s)")
                sleep(delay)
                delay *= 2
                continue
            raise _GaveUp(exc, attempt, time.monotonic() - start) from None


_TRY_LONGER = "STOKER_RETRIES and STOKER_BACKOFF_SECONDS make stoker try longer"


def _unreachable_hint(exc: BaseException, what: str) -> str:
    """How to recover from a connection error or 5xx that outlasted the retries."""
    if isinstance(_root(exc), ks_exc.ConnectionError):
        return (f"check that {what} is reachable from this machine (VPN, proxy, firewall, DNS) and up, then run "
                f"the same command again; {_TRY_LONGER}")
    return (f"{what} keeps failing on the cloud's side: run the same command again once it answers (the cloud's "
            f"operators or status page say when); {_TRY_LONGER}")


class Cloud:
    """An authenticated connection to one cloud."""

    def __init__(self, conn: Any, name: str, timings: Timings = Timings(),
                 sleep: Callable[[float], None] = time.sleep):
        self.conn, self.name, self.timings, self.sleep = conn, name, timings, sleep
        self.retried: list[str] = []  # every retry, with its step and error, for the report

    @classmethod
    def connect(cls, cloud: str | None, timings: Timings = Timings(), vm: str | None = None,
                sleep: Callable[[float], None] = time.sleep) -> "Cloud":
        """Credentials from clouds.yaml (`cloud`, else OS_CLOUD) or, when neither
        names a cloud, from the OS_* variables of an openrc.sh, as the
        OpenStack CLI reads them. Authenticates at once (Keystone token), with
        the retries of `Cloud.call`, so an unreachable cloud fails here, as
        step `connect`, rather than mid-deploy."""
        quiet_library_logs()
        name = cloud or os.environ.get("OS_CLOUD")
        label = name or "(from OS_* variables)"
        config_hint = "check clouds.yaml / OS_CLOUD / the OS_* variables of your openrc.sh"
        try:  # reads the configuration only; no request yet
            conn = openstack.connect(cloud=name) if name else openstack.connect()
        except (os_exc.SDKException, ks_exc.ClientException) as exc:
            message, status = _describe(exc)
            raise ApiError(f"cannot connect to cloud {label}: {message}", status=status, vm=vm, step="connect",
                           hint=config_hint) from None
        connected = cls(conn, name or "env", timings, sleep)
        try:
            _attempt("connect", conn.authorize, timings, sleep, connected.retried)
        except _GaveUp as failed:
            auth_url = (conn.config.get_auth_args() or {}).get("auth_url") or "the auth_url"
            hint = (_unreachable_hint(failed.exc, f"Keystone at {auth_url}") if _retryable(failed.exc)
                    else config_hint)
            raise ApiError(f"cannot connect to cloud {label}: {failed.text()}", status=_describe(failed.exc)[1],
                           vm=vm, step="connect", hint=hint) from None
        return connected

    def call(self, step: str, fn: Callable[[], Any], *, vm: str | None = None, server: str | None = None,
             retry: bool = True, hint: str | None = None) -> Any:
        try:
            return _attempt(step, fn, self.timings, self.sleep, self.retried, retry)
        except _GaveUp as failed:
            status = _describe(failed.exc)[1]
            if _retryable(failed.exc):
                reach = _unreachable_hint(failed.exc, f"the cloud {self.name}")
                hint = f"{reach}; {hint}" if hint else reach
            if status == 409:
                busy = "the server is busy with another task: wait for it to settle and run again"
                hint = f"{busy}; {hint}" if hint else busy
            raise ApiError(failed.text(), status=status, vm=vm, server=server, step=step, hint=hint) from None

    def compute_microversion(self) -> str | None:
        """The highest compute microversion both openstacksdk and the cloud speak."""
        return os_utils.maximum_supported_microversion(self.conn.compute, "2.100")


def find_or_none(find: Callable[..., Any], name_or_id: str) -> Any:
    """An SDK find_* that answers None for "no such thing" (ignore_missing=True
    is deprecated in openstacksdk)."""
    try:
        return find(name_or_id, ignore_missing=False)
    except os_exc.NotFoundException:
        return None

"""The one door to the cloud: an openstacksdk connection, with every SDK call
going through `Cloud.call`, which retries (with backoff) only on 5xx answers and
connection errors, and turns any other SDK exception into a stoker error that
names the VM, the server and the step.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable

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


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout)):
        return True
    if isinstance(exc, os_exc.HttpException):
        return exc.status_code is not None and 500 <= int(exc.status_code) < 600
    return isinstance(exc, ks_exc.http.HttpError) and 500 <= int(getattr(exc, "http_status", 0) or 0) < 600


def _describe(exc: BaseException) -> tuple[str, int | None]:
    if isinstance(exc, os_exc.HttpException):
        status = int(exc.status_code) if exc.status_code else None
        detail = exc.details or exc.message or str(exc)
        return f"HTTP {status}: {detail}", status
    if isinstance(exc, ks_exc.ClientException):
        return f"{type(exc).__name__}: {exc}", getattr(exc, "http_status", None)
    return f"{type(exc).__name__}: {exc}", None


class Cloud:
    """An authenticated connection to one cloud."""

    def __init__(self, conn: Any, name: str, timings: Timings = Timings(),
                 sleep: Callable[[float], None] = time.sleep):
        self.conn, self.name, self.timings, self.sleep = conn, name, timings, sleep
        self.retried: list[str] = []  # steps that needed a retry, for the report

    @classmethod
    def connect(cls, cloud: str | None, timings: Timings = Timings(), vm: str | None = None) -> "Cloud":
        """Credentials from clouds.yaml (`cloud`, else OS_CLOUD) or, when neither
        names a cloud, from the OS_* variables of an openrc.sh, as the
        OpenStack CLI reads them."""
        name = cloud or os.environ.get("OS_CLOUD")
        try:
            conn = openstack.connect(cloud=name) if name else openstack.connect()
            conn.authorize()  # fail here, with a clear step, rather than mid-deploy
        except (os_exc.SDKException, ks_exc.ClientException) as exc:
            message, status = _describe(exc)
            raise ApiError(f"cannot connect to cloud {name or '(from OS_* variables)'}: {message}",
                           status=status, vm=vm, step="connect",
                           hint="check clouds.yaml / OS_CLOUD / the OS_* variables of your openrc.sh") from None
        return cls(conn, name or "env", timings)

    def call(self, step: str, fn: Callable[[], Any], *, vm: str | None = None, server: str | None = None,
             retry: bool = True, hint: str | None = None) -> Any:
        delay = self.timings.backoff
        attempts = self.timings.retries + 1 if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except CloudError:
                raise
            except (os_exc.SDKException, ks_exc.ClientException) as exc:
                message, status = _describe(exc)
                if _retryable(exc) and attempt < attempts:
                    self.retried.append(f"{step}: {message}")
                    self.sleep(delay)
                    delay *= 2
                    continue
                if status == 409:
                    busy = "the server is busy with another task: wait for it to settle and run again"
                    hint = f"{busy}; {hint}" if hint else busy
                raise ApiError(message, status=status, vm=vm, server=server, step=step, hint=hint) from None

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

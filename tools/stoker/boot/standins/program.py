#!/usr/bin/python3
"""The generic stand-in program, run inside every stand-in image (standard library only).

Installed as /usr/local/lib/stoker-standin/standin.py, on PATH as
`stoker-standin`, and as each extra command of the image (a symbolic link
whose name is the command, e.g. `run-deploy`). It reads the image's contract
(/usr/share/stoker-standin/contract.json, or $STOKER_STANDIN_CONTRACT) and
runs one mode of it:

    stoker-standin [MODE]          the default mode, or MODE
    run-deploy                     the mode named like the link
    stoker-standin --check MODE    only the uid and environment checks (real programs' wrappers)

In order: it runs as the contract's uid; every required environment variable
is set and not empty; it writes a marker file under each path the mode
writes; it connects to each host:port the mode needs (retried until the
mode's wait_seconds); it does the mode's S3 transfer (AWS Signature V4 over
HTTP(S)) and writes the files the mode produces; then a "serve" mode answers
HTTP 200 on each of its ports ("stoker stand-in for IMAGE on HOST", HOST from
$STOKER_VM, else the container's host name) until SIGTERM or SIGINT, and a
"job" mode exits 0. Any failure: one loud line on standard error and exit 1.
Messages name environment variables, never their values.

Exit codes: 0 done (or stopped by a signal), 1 a contract check or the work
failed, 2 the program is used wrongly (no contract, unknown mode).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

CONTRACT = "/usr/share/stoker-standin/contract.json"
MARKER = ".stoker-standin"
PROGRAM_NAMES = ("stoker-standin", "standin.py", "program.py")


class Failure(Exception):
    """The contract is not kept or the work failed; the message says what, never a value."""


class Usage(Exception):
    """The program was called wrongly."""


class Stopped(Exception):
    """SIGTERM or SIGINT arrived."""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- contract ------------------------------------------------------------------------------------

def load_contract(path: str | None = None) -> dict:
    path = path or os.environ.get("STOKER_STANDIN_CONTRACT") or CONTRACT
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise Usage(f"cannot read the contract {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise Usage(f"the contract {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("modes"), dict) or doc.get("default") not in doc["modes"]:
        raise Usage(f"the contract {path} has no modes or no default mode")
    return doc


def choose_mode(contract: dict, argv: list[str]) -> tuple[str, bool]:
    """(mode name, check only) from the program's name and arguments."""
    prog = os.path.basename(argv[0]) if argv else "stoker-standin"
    args = list(argv[1:])
    check_only = bool(args) and args[0] == "--check"
    if check_only:
        args = args[1:]
    if args:
        name = args[0]
    elif prog not in PROGRAM_NAMES:
        name = prog
    else:
        name = contract["default"]
    if name not in contract["modes"]:
        raise Usage(f"{name!r} is not a command of this image (it has: {', '.join(sorted(contract['modes']))})")
    return name, check_only


def check_user(contract: dict) -> None:
    user = contract.get("user")
    if user is None:
        return
    uid = os.getuid()
    if uid != user["uid"]:
        raise Failure(f"runs as uid {uid}, but the image's contract is uid {user['uid']} ({user.get('name')}); "
                      "the fleet's data directories are owned by that uid")


def check_env(mode: dict) -> None:
    missing = [v for v in mode["env"]["required"] if not os.environ.get(v)]
    if missing:
        raise Failure("required environment variable(s) not set or empty: " + ", ".join(missing))


def write_markers(contract: dict, mode_name: str, mode: dict, host: str) -> None:
    for path in mode.get("writes", ()):
        marker = os.path.join(path, MARKER)
        try:
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write(f"written by the stoker stand-in for {contract['reference']} ({mode_name}) "
                         f"on {host} at {_now()}\n")
        except OSError as exc:
            raise Failure(f"cannot write under {path} (a path this image writes): {exc.strerror}") from None


def resolve_host(spec: str) -> tuple[str, str]:
    """(host, how to name it in messages) for "name" or "$VAR"."""
    if spec.startswith("$"):
        value = os.environ.get(spec[1:], "")
        if not value:
            raise Failure(f"needs the host in {spec[1:]}, which is not set")
        return value, f"the host in {spec[1:]}"
    return spec, spec


def wait_for(needs: list[dict], seconds: float, sleep=time.sleep, clock=time.monotonic) -> None:
    deadline = clock() + seconds
    for need in needs:
        host, label = resolve_host(need["host"])
        port = int(need["port"])
        last = ""
        while True:
            try:
                with socket.create_connection((host, port), timeout=3):
                    say(f"reached {label} port {port}")
                    break
            except OSError as exc:
                last = exc.strerror or str(exc)
            if clock() >= deadline:
                raise Failure(f"needs {label} port {port}, not reachable within {seconds:.0f} s: {last}")
            sleep(1)


def produce(mode: dict) -> None:
    for item in mode.get("produce", ()):
        try:
            os.makedirs(os.path.dirname(item["path"]), exist_ok=True)
            with open(item["path"], "w", encoding="utf-8") as fh:
                fh.write(item["text"])
        except OSError as exc:
            raise Failure(f"cannot write {item['path']}: {exc.strerror}") from None


# -- S3: AWS Signature Version 4 (AWS docs "Signature Calculations for the Authorization Header") ----

def sigv4_authorization(method: str, host: str, path: str, query: dict[str, str], headers: dict[str, str],
                        payload_sha256: str, access_key: str, secret_key: str, region: str,
                        amz_date: str, service: str = "s3") -> str:
    """The Authorization header value; `headers` must include host, x-amz-date and x-amz-content-sha256."""
    canonical_uri = urllib.parse.quote(path, safe="/~")
    canonical_query = "&".join(f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}"
                               for k, v in sorted(query.items()))
    lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed = ";".join(sorted(lowered))
    canonical_headers = "".join(f"{k}:{lowered[k]}\n" for k in sorted(lowered))
    request = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed, payload_sha256])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"


def parse_endpoint(value: str, variable: str) -> str:
    """scheme://host[:port] from http(s)://… or WAL-E's https+path://host:port."""
    scheme, sep, rest = value.partition("://")
    scheme = scheme.split("+", 1)[0].lower()
    host = rest.split("/", 1)[0]
    if not sep or scheme not in ("http", "https") or not host:
        raise Failure(f"{variable} is not an http(s):// endpoint URL")
    return f"{scheme}://{host}"


def parse_prefix(value: str, variable: str) -> tuple[str, str]:
    """(bucket, key prefix ending in "/" or "") from s3://bucket/path."""
    if not value.startswith("s3://") or not value[5:].split("/", 1)[0]:
        raise Failure(f"{variable} is not an s3://bucket/path prefix")
    bucket, _, path = value[5:].partition("/")
    path = path.strip("/")
    return bucket, (path + "/") if path else ""


class S3Client:
    """Path-style requests (endpoint/bucket/key) signed with AWS Signature V4."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 30, now=None):
        self.endpoint = endpoint.rstrip("/")
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.timeout = timeout
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))

    def request(self, method: str, bucket: str, key: str = "", query: dict | None = None,
                body: bytes | str = b"", out: str | None = None) -> bytes:
        """One signed request; `body` bytes or the path of a file to send; `out`: write the answer there."""
        query = query or {}
        path = f"/{bucket}/{key}" if key else f"/{bucket}"
        amz_date = self.now().strftime("%Y%m%dT%H%M%SZ")
        if isinstance(body, str):
            h = hashlib.sha256()
            with open(body, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            payload = h.hexdigest()
        else:
            payload = hashlib.sha256(body).hexdigest()
        headers = {"host": self.host, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
        auth = sigv4_authorization(method, self.host, path, query, headers, payload, self.access_key,
                                   self.secret_key, self.region, amz_date)
        url = self.endpoint + urllib.parse.quote(path, safe="/~")
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
        sent = {"x-amz-date": amz_date, "x-amz-content-sha256": payload, "Authorization": auth}
        fh = None
        try:
            data = None
            if method == "PUT":
                if isinstance(body, str):
                    fh = open(body, "rb")
                    data = fh
                    sent["Content-Length"] = str(os.path.getsize(body))
                else:
                    data = body
            req = urllib.request.Request(url, data=data, method=method, headers=sent)
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                if out is None:
                    return resp.read()
                with open(out, "wb") as dest:
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        dest.write(chunk)
                return b""
        except urllib.error.HTTPError as exc:
            code = _s3_error_code(exc)
            raise Failure(f"S3 {method} s3://{bucket}/{key} refused: HTTP {exc.code}{' ' + code if code else ''}") \
                from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Failure(f"the S3 endpoint is not reachable: {getattr(reason, 'strerror', None) or reason}") \
                from None
        finally:
            if fh is not None:
                fh.close()

    def newest(self, bucket: str, prefix: str) -> str | None:
        """The key under prefix with the latest LastModified (ListObjectsV2), or None."""
        body = self.request("GET", bucket, query={"list-type": "2", "prefix": prefix})
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise Failure("the S3 endpoint's object list is not XML") from None
        best = None
        for item in root.iter():
            if item.tag.endswith("Contents"):
                fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in item}
                if best is None or fields.get("LastModified", "") > best[0]:
                    best = (fields.get("LastModified", ""), fields.get("Key", ""))
        return best[1] if best else None


def _s3_error_code(exc: urllib.error.HTTPError) -> str:
    try:
        root = ET.fromstring(exc.read())
        return next((e.text or "" for e in root.iter() if e.tag.endswith("Code")), "")
    except Exception:
        return ""


def s3_client(endpoint_env: str) -> S3Client:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", endpoint_env):
        if not os.environ.get(var):
            raise Failure(f"S3 needs {var}, which is not set")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return S3Client(parse_endpoint(os.environ[endpoint_env], endpoint_env), os.environ["AWS_ACCESS_KEY_ID"],
                    os.environ["AWS_SECRET_ACCESS_KEY"], region)


def s3_transfer(contract: dict, mode_name: str, spec: dict, host: str) -> None:
    client = s3_client(spec["endpoint_env"])
    bucket, prefix = parse_prefix(os.environ.get(spec["prefix_env"], ""), spec["prefix_env"])
    if spec["action"] == "put":
        key = f"{prefix}stoker-standin-{_now().replace(':', '')}.json"
        body = json.dumps({"stand-in for": contract["reference"], "mode": mode_name, "host": host,
                           "time": _now()}).encode()
        client.request("PUT", bucket, key, body=body)
        say(f"stored s3://{bucket}/{key}")
    else:
        key = client.newest(bucket, prefix)
        if key is None:
            raise Failure(f"nothing to restore under the prefix in {spec['prefix_env']}")
        client.request("GET", bucket, key)
        say(f"fetched s3://{bucket}/{key}")


# -- serving -------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    server_version = "stoker-standin"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def _answer(self, with_body: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if with_body:
            self.wfile.write(self.body)

    def log_message(self, format: str, *args) -> None:  # one line per request, on stderr
        say(f"{self.address_string()} {format % args}")


class _DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class _V4Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def listen(port: int, body: bytes) -> http.server.HTTPServer:
    handler = type("Handler", (_Handler,), {"body": body})
    try:
        return _DualStackServer(("::", port), handler)
    except OSError:
        pass  # no IPv6 in this network namespace: IPv4 only
    try:
        return _V4Server(("0.0.0.0", port), handler)
    except OSError as exc:
        raise Failure(f"cannot listen on port {port}: {exc.strerror}") from None


def serve(contract: dict, mode_name: str, mode: dict, host: str, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    servers = []
    try:
        for port in mode["ports"]:
            body = f"stoker stand-in for {contract['reference']} on {host} ({mode_name}, port {port})\n".encode()
            servers.append(listen(int(port), body))
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        say(f"listening on port(s) {', '.join(str(p) for p in mode['ports'])}")
        stop.wait()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# -- main ----------------------------------------------------------------------------------------

def run(argv: list[str], stop: threading.Event | None = None) -> int:
    image, mode_name, contract = "?", "?", {}
    try:
        contract = load_contract()
        image = contract.get("reference") or contract.get("image", "?")
        mode_name, check_only = choose_mode(contract, argv)
        mode = contract["modes"][mode_name]
        host = os.environ.get("STOKER_VM") or socket.gethostname()
        check_user(contract)
        check_env(mode)
        if check_only or mode["kind"] == "program":
            return 0
        write_markers(contract, mode_name, mode, host)
        wait_for(mode.get("needs", []), float(mode.get("wait_seconds", 300)))
        if mode.get("s3"):
            s3_transfer(contract, mode_name, mode["s3"], host)
        produce(mode)
        if mode["kind"] == "serve":
            serve(contract, mode_name, mode, host, stop)
        else:
            say(f"stoker stand-in for {image} ({mode_name}): done")
        return 0
    except Failure as exc:
        say(f"stoker stand-in for {image} ({mode_name}) FAILED: {exc}")
        return 1
    except Usage as exc:
        say(f"stoker-standin: {exc}")
        return 2
    except Stopped:
        if mode_name != "?" and contract["modes"][mode_name]["kind"] == "serve":
            say(f"stoker stand-in for {image} ({mode_name}): stopped")
            return 0
        say(f"stoker stand-in for {image} ({mode_name}) FAILED: stopped by a signal before it finished")
        return 1


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> int:
    def on_signal(signum, frame):  # PID 1 in a container has no default action: handle it
        raise Stopped
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return run(sys.argv)


if __name__ == "__main__":
    sys.exit(main())

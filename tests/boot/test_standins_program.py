"""The generic stand-in program, run on the host with a contract of the test's own.

It is the program every stand-in image runs (tools/stoker/boot/standins/program.py),
started here as a subprocess with $STOKER_STANDIN_CONTRACT pointing at a
temporary contract: wrong uid, missing variables, unreachable dependencies and
an S3 endpoint that refuses or is not there must fail loudly, never printing a
variable's value.
"""

from __future__ import annotations

import datetime
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from stoker.boot.standins import program
from stoker.boot.standins.model import FILES_DIR

PROGRAM = FILES_DIR / "program.py"
SECRET = "s3cr3t-value-never-printed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contract(tmp_path: Path, modes: dict, uid: int | None = None, default: str | None = None) -> Path:
    full = {}
    for name, m in modes.items():
        full[name] = {"kind": "job", "description": "", "env": {"required": [], "optional": []}, "ports": [],
                      "writes": [], "needs": [], "wait_seconds": 5, "s3": None, "produce": [], **m}
    doc = {"image": "thing:latest", "reference": "registry.example/ebisc/thing:latest", "stands_for": "test",
           "user": None if uid is None else {"name": "someone", "uid": uid},
           "default": default or next(iter(modes)), "modes": full}
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(doc))
    return path


def run(contract_path: Path, *args: str, env: dict | None = None, argv0: Path = PROGRAM, timeout: float = 30):
    e = {"PATH": os.environ["PATH"], "STOKER_STANDIN_CONTRACT": str(contract_path), **(env or {})}
    return subprocess.run([sys.executable, str(argv0), *args], capture_output=True, text=True, env=e,
                          timeout=timeout)


# -- the contract checks --------------------------------------------------------------------------


def test_wrong_uid_fails_loudly(tmp_path):
    c = contract(tmp_path, {"serve": {"kind": "serve", "ports": [free_port()]}}, uid=os.getuid() + 1)
    proc = run(c)
    assert proc.returncode == 1
    assert f"runs as uid {os.getuid()}, but the image's contract is uid {os.getuid() + 1}" in proc.stderr
    assert "FAILED" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_variables_are_named_and_values_never_printed(tmp_path):
    c = contract(tmp_path, {"job": {"env": {"required": ["DB_PASS", "SECRET_KEY", "EMPTY"], "optional": []}}})
    proc = run(c, env={"DB_PASS": SECRET, "EMPTY": ""})
    assert proc.returncode == 1
    assert "required environment variable(s) not set or empty: SECRET_KEY, EMPTY" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_unwritable_data_path_fails(tmp_path):
    c = contract(tmp_path, {"job": {"writes": [str(tmp_path / "no-such-dir")]}})
    proc = run(c)
    assert proc.returncode == 1 and "cannot write under" in proc.stderr


def test_check_only_checks_uid_and_environment(tmp_path):
    c = contract(tmp_path, {"serve": {"kind": "serve", "ports": [free_port()], "writes": [str(tmp_path)]}},
                 uid=os.getuid())
    proc = run(c, "--check", "serve")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / ".stoker-standin").exists()


def test_unknown_mode_and_missing_contract_are_usage_errors(tmp_path):
    c = contract(tmp_path, {"job": {}})
    proc = run(c, "nope")
    assert proc.returncode == 2 and "'nope' is not a command of this image (it has: job)" in proc.stderr
    proc = run(tmp_path / "absent.json")
    assert proc.returncode == 2 and "cannot read the contract" in proc.stderr


# -- jobs -----------------------------------------------------------------------------------------


def test_job_mode_from_the_links_name_needs_writes_and_produces(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        data = tmp_path / "static"
        data.mkdir()
        c = contract(tmp_path, {
            "serve": {"kind": "serve", "ports": [free_port()]},
            "run-deploy": {"env": {"required": ["DB_HOST"], "optional": []}, "writes": [str(data)],
                           "needs": [{"host": "$DB_HOST", "port": port}],
                           "produce": [{"path": str(data / "css/ims.css"), "text": "body {}\n"}]}})
        link = tmp_path / "run-deploy"
        link.symlink_to(PROGRAM)
        proc = run(c, env={"DB_HOST": "127.0.0.1"}, argv0=link)
    assert proc.returncode == 0, proc.stderr
    assert "reached the host in DB_HOST port" in proc.stderr and "127.0.0.1" not in proc.stderr
    assert (data / "css/ims.css").read_text() == "body {}\n"
    assert "registry.example/ebisc/thing:latest (run-deploy)" in (data / ".stoker-standin").read_text()


def test_unreachable_dependency_fails_within_the_bounded_wait(tmp_path):
    c = contract(tmp_path, {"job": {"needs": [{"host": "127.0.0.1", "port": free_port()}], "wait_seconds": 2}})
    t0 = time.monotonic()
    proc = run(c)
    assert proc.returncode == 1
    assert time.monotonic() - t0 < 15
    assert "needs 127.0.0.1 port" in proc.stderr and "not reachable within 2 s" in proc.stderr


def test_wait_for_retries_until_the_deadline():
    slept = []
    clock = iter(range(0, 100, 1))  # each look at the clock is one second later
    with pytest.raises(program.Failure, match="within 3 s"):
        program.wait_for([{"host": "127.0.0.1", "port": free_port()}], 3, sleep=slept.append,
                         clock=lambda: next(clock))
    assert slept == [1, 1]  # tried at 1, 2 and 3 seconds, then gave up


# -- serving --------------------------------------------------------------------------------------


def test_serve_answers_on_every_port_names_the_vm_and_stops_on_sigterm(tmp_path):
    ports = [free_port(), free_port()]
    c = contract(tmp_path, {"es": {"kind": "serve", "ports": ports, "writes": [str(tmp_path)]}}, uid=os.getuid())
    env = {"PATH": os.environ["PATH"], "STOKER_STANDIN_CONTRACT": str(c), "STOKER_VM": "ims-under-test"}
    proc = subprocess.Popen([sys.executable, str(PROGRAM)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        bodies = []
        for port in ports:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/anything", timeout=2) as resp:
                        assert resp.status == 200
                        bodies.append(resp.read().decode())
                        break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline
                    time.sleep(0.1)
        assert bodies[0] == f"stoker stand-in for registry.example/ebisc/thing:latest on ims-under-test (es, port {ports[0]})\n"
        assert f"port {ports[1]}" in bodies[1]
        assert (tmp_path / ".stoker-standin").is_file()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_a_port_in_use_fails(tmp_path):
    with socket.socket(socket.AF_INET6) as busy:
        busy.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        busy.bind(("::", 0))
        busy.listen()
        c = contract(tmp_path, {"s": {"kind": "serve", "ports": [busy.getsockname()[1]]}})
        proc = run(c)
    assert proc.returncode == 1 and "cannot listen on port" in proc.stderr


# -- S3 -------------------------------------------------------------------------------------------


def test_sigv4_matches_the_aws_documentation_examples():
    """AWS S3 API reference, "Signature Calculations for the Authorization Header", GET Object and
    GET Bucket (List Objects) examples (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z)."""
    empty = hashlib.sha256(b"").hexdigest()
    args = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "20130524T000000Z")
    host = "examplebucket.s3.amazonaws.com"
    auth = program.sigv4_authorization("GET", host, "/test.txt", {}, {
        "Host": host, "Range": "bytes=0-9", "x-amz-content-sha256": empty, "x-amz-date": "20130524T000000Z"},
        empty, *args)
    assert auth == ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    auth = program.sigv4_authorization("GET", host, "/", {"max-keys": "2", "prefix": "J"}, {
        "host": host, "x-amz-content-sha256": empty, "x-amz-date": "20130524T000000Z"}, empty, *args)
    assert auth.endswith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")


@pytest.mark.parametrize("value, expected", [
    ("https+path://object-store.ebisc.org:443", "https://object-store.ebisc.org:443"),
    ("https://object-store.ebisc.org", "https://object-store.ebisc.org"),
    ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
])
def test_endpoints(value, expected):
    assert program.parse_endpoint(value, "X") == expected


def test_bad_endpoint_and_prefix_name_the_variable_not_the_value():
    with pytest.raises(program.Failure, match="^S3_ENDPOINT is not an http"):
        program.parse_endpoint("ftp://" + SECRET, "S3_ENDPOINT")
    with pytest.raises(program.Failure, match="^S3_PREFIX is not an s3://bucket/path prefix$"):
        program.parse_prefix(SECRET, "S3_PREFIX")
    assert program.parse_prefix("s3://ebisc-backups/tracker/mongodb/", "P") == ("ebisc-backups", "tracker/mongodb/")
    assert program.parse_prefix("s3://b", "P") == ("b", "")


class FakeS3(http.server.BaseHTTPRequestHandler):
    """An object store for one test: PUT stores, GET lists or returns; `deny` answers 403."""
    objects: dict = {}
    seen: list = []
    deny = False

    def log_message(self, *args):
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("PUT", self.path, dict(self.headers), body))
        if self.deny:
            return self._reply(403, b"<Error><Code>AccessDenied</Code></Error>")
        assert hashlib.sha256(body).hexdigest() == self.headers["x-amz-content-sha256"]
        self.objects[self.path] = body
        self._reply(200, b"")

    def do_GET(self):  # noqa: N802
        self.seen.append(("GET", self.path, dict(self.headers), b""))
        if self.deny:
            return self._reply(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
        if "list-type=2" in self.path:
            items = "".join(f"<Contents><Key>{p.split('/', 2)[2]}</Key><LastModified>2026-01-0{i}T00:00:00Z"
                            f"</LastModified></Contents>" for i, p in enumerate(sorted(self.objects), 1))
            return self._reply(200, f'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{items}'
                                    f"</ListBucketResult>".encode())
        self._reply(200, self.objects.get(self.path.split("?")[0], b""))


@pytest.fixture
def s3():
    FakeS3.objects, FakeS3.seen, FakeS3.deny = {}, [], False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


S3_ENV = ["MONGODB_HOST", "S3_ENDPOINT", "S3_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]


def s3_contract(tmp_path, port):
    return contract(tmp_path, {
        "backup": {"env": {"required": S3_ENV, "optional": []}, "needs": [{"host": "$MONGODB_HOST", "port": port}],
                   "s3": {"endpoint_env": "S3_ENDPOINT", "prefix_env": "S3_PREFIX", "action": "put"}},
        "run-restore": {"env": {"required": S3_ENV, "optional": []},
                        "s3": {"endpoint_env": "S3_ENDPOINT", "prefix_env": "S3_PREFIX", "action": "get"}}})


def test_s3_put_then_get_with_signed_requests(tmp_path, s3):
    with socket.socket() as mongo:
        mongo.bind(("127.0.0.1", 0))
        mongo.listen()
        c = s3_contract(tmp_path, mongo.getsockname()[1])
        env = {"MONGODB_HOST": "127.0.0.1", "S3_ENDPOINT": s3, "S3_PREFIX": "s3://ebisc-backups/tracker/mongodb",
               "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
        put = run(c, env=env)
        got = run(c, "run-restore", env=env)
    assert put.returncode == 0, put.stderr
    assert got.returncode == 0, got.stderr
    (path, body), = FakeS3.objects.items()
    assert path.startswith("/ebisc-backups/tracker/mongodb/stoker-standin-") and path.endswith(".json")
    assert json.loads(body)["stand-in for"] == "registry.example/ebisc/thing:latest"
    method, _, headers, _ = FakeS3.seen[0]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date" in headers["Authorization"]
    assert [s[0] for s in FakeS3.seen] == ["PUT", "GET", "GET"]  # store; list, fetch
    assert SECRET not in put.stderr + got.stderr


def test_s3_refusal_names_the_error_code(tmp_path, s3):
    FakeS3.deny = True
    c = s3_contract(tmp_path, 1)
    env = {"S3_ENDPOINT": s3, "S3_PREFIX": "s3://b/p", "MONGODB_HOST": "x", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": SECRET}
    proc = run(c, "run-restore", env=env)
    assert proc.returncode == 1
    assert "S3 GET s3://b/ refused: HTTP 403 SignatureDoesNotMatch" in proc.stderr
    assert SECRET not in proc.stderr


def test_s3_unreachable_endpoint_fails_loudly(tmp_path):
    c = s3_contract(tmp_path, 1)
    env = {"S3_ENDPOINT": f"http://127.0.0.1:{free_port()}", "S3_PREFIX": "s3://b/p", "MONGODB_HOST": "x",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": SECRET}
    proc = run(c, "run-restore", env=env)
    assert proc.returncode == 1
    assert "the S3 endpoint is not reachable: Connection refused" in proc.stderr


def test_s3_client_signs_with_the_clock_it_is_given():
    fixed = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc)
    client = program.S3Client("http://127.0.0.1:1", "k", "s", now=lambda: fixed, timeout=1)
    with pytest.raises(program.Failure, match="not reachable"):
        client.request("GET", "bucket", "key")

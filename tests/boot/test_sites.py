"""The site checks: nginx configuration read from the bastion's config, the plan from fleet.yaml,
and each answer judged (a fake bastion answers; no QEMU)."""

import base64
import hashlib
import ssl

import pytest

from stoker.boot import sites
from stoker.boot.checks import Results
from stoker.boot.errors import ConfigError
from stoker.boot.fleettest import render_fleet
from stoker.fleet.definitions import load_fleet


@pytest.fixture(scope="module")
def rendered():
    return render_fleet()


@pytest.fixture(scope="module")
def bastion(rendered):
    return sites.read_bastion("bastion", rendered.configs["bastion"])


def test_parse_nginx_nests_blocks_and_skips_comments():
    conf = sites.parse_nginx('# c\nserver { listen 8443 ssl; server_name a b; # x\n'
                             ' location /.well-known/ { root "/var/www/acme"; } }\n')
    assert [d.name for d in conf] == ["server"]
    assert conf[0].first("server_name") == ["a", "b"]
    assert conf[0].all("location")[0].first("root") == ["/var/www/acme"]
    for bad in ("server {", "}", "server { listen 80 }", "listen 80"):
        with pytest.raises(ValueError):
            sites.parse_nginx(bad)


def test_the_bastion_is_the_vm_that_publishes_443(rendered):
    assert sites.find_bastion(rendered.configs) == "bastion"
    with pytest.raises(ConfigError, match="found none"):
        sites.find_bastion({k: v for k, v in rendered.configs.items() if k != "bastion"})


def test_the_bastions_servers_and_volumes_come_from_its_config(bastion):
    assert (bastion.http_port, bastion.https_port) == (8080, 8443)
    assert bastion.vm_path("/var/www/acme") == "/var/mnt/bastion-data/acme"
    assert bastion.vm_path("/etc/nginx/htpasswd/cells-stage") == "/etc/stoker/files/htpasswd/cells-stage"
    with pytest.raises(ConfigError, match="mounts nothing at /srv"):
        bastion.vm_path("/srv/x")
    stage = bastion.server_for("cells-stage.ebisc.org", tls=True)
    assert stage.auth_file == "/etc/nginx/htpasswd/cells-stage"
    assert bastion.server_for("cells.ebisc.org", tls=True).auth_file is None
    assert bastion.server_for("tracker.ebisc.org", tls=False).acme_root == "/var/www/acme"


def test_the_staging_htpasswd_holds_one_throwaway_user(rendered):
    assert rendered.auth_secret == "HTPASSWD_CELLS_STAGE"
    user, password = rendered.credentials
    files = {f["path"]: f for f in rendered.configs["bastion"]["storage"]["files"]}
    from stoker.boot.ignition import decode_source
    line = decode_source(files["/etc/stoker/files/htpasswd/cells-stage"]["contents"])
    assert line.startswith(f"{user}:{{SSHA}}") and password not in line
    assert render_fleet().credentials[1] != password  # a new one every run


def test_htpasswd_ssha_is_what_nginx_checks():
    line = sites.htpasswd_line("u", "secret", salt=b"12345678")
    raw = base64.b64decode(line.strip().split("{SSHA}")[1])
    assert raw[20:] == b"12345678" and raw[:20] == hashlib.sha1(b"secret12345678").digest()


def test_plan_covers_every_site_alias_acme_and_auth(bastion):
    checks = sites.plan_sites(load_fleet().data, bastion, "tok")
    by = {c.name: c for c in checks}
    for site, vm in (("cells.ebisc.org", "ims"), ("cells-stage.ebisc.org", "ims-staging"),
                     ("tracker.ebisc.org", "tracker")):
        for scheme in ("http", "https"):
            assert by[f"{site} {scheme}"].vm == vm and by[f"{site} {scheme}"].kind == "backend"
        assert by[f"{site} ACME path"].path == "/.well-known/acme-challenge/tok"
    assert by["cells-stage.ebisc.org https"].credentials and not by["cells.ebisc.org https"].credentials
    assert by["cells-stage.ebisc.org asks for basic auth"].kind == "auth"
    for alias in ("www.cells.ebisc.org", "ims.ebisc.org", "www.ebisc-cells.org"):
        assert by[f"{alias} https redirects"].location == "https://cells.ebisc.org/"
        assert by[f"{alias} http"].vm == "ims"
        assert f"{alias} ACME path" in by


def test_a_site_whose_vm_has_no_address_is_an_error(bastion):
    with pytest.raises(ConfigError, match=r"sites\.web: no hosts\.web"):
        sites.plan_sites({"sites": {"web": "w.example"}, "hosts": {}}, bastion, "t")


# --- judging answers --------------------------------------------------------------------------

UWSGI = "registry.ebisc.org/ebisc/ims-uwsgi:latest"
CONTAINERS = {"ims": {"a" * 64: "ims-uwsgi (uwsgi)"}, "ims-staging": {"b" * 64: "ims-uwsgi (uwsgi)"},
              "tracker": {"c" * 64: "tracker-webserver (tw)"}}
NAMES = {"cells.ebisc.org", "cells-stage.ebisc.org", "tracker.ebisc.org", "ims.ebisc.org"}


def body(cid):
    return f"stoker stand-in for {UWSGI} on {cid[:12]} (serve, port 9191)\n"


class FakeBastion:
    """Answers like the fleet's bastion: HTTP redirects to HTTPS but for the tracker; staging wants auth."""

    def __init__(self, wrong_backend=False, cert=b"CERT"):
        self.asked = []
        self.wrong = wrong_backend
        self.cert = cert

    def __call__(self, ports, scheme, host, path, auth=None):
        self.asked.append((scheme, host, path, auth))
        if path.startswith("/.well-known/"):
            return sites.Answer(200, {}, "token body")
        if scheme == "http" and host != "tracker.ebisc.org":
            return sites.Answer(301, {"location": f"https://{host}{path}"}, "")
        if host == "ims.ebisc.org":
            return sites.Answer(301, {"location": "https://cells.ebisc.org/"}, "", self.cert)
        if host == "cells-stage.ebisc.org":
            if auth != ("u", "p"):
                return sites.Answer(401, {"www-authenticate": 'Basic realm="EBiSC staging"'}, "", self.cert)
            return sites.Answer(200, {}, body("b" * 64), self.cert)
        if host == "tracker.ebisc.org":
            return sites.Answer(200, {}, body("c" * 64), self.cert if scheme == "https" else None)
        return sites.Answer(200, {}, body(("b" if self.wrong else "a") * 64), self.cert)


def ctx(**kw):
    base = dict(ports={"http": 1, "https": 2}, containers=CONTAINERS, names=NAMES, credentials=("u", "p"),
                auth_sites={"cells-stage.ebisc.org"}, acme_body="token body",
                certificates={"cells.ebisc.org": b"CERT", "cells-stage.ebisc.org": b"CERT"})
    base.update(kw)
    return sites.Context(**base)


def judge(check, fetcher, **kw):
    results = Results()
    sites.evaluate(check, ctx(**kw), results, fetcher)
    return results.checks[0]


def test_http_follows_the_redirect_and_names_the_vm_whose_container_answered():
    fake = FakeBastion()
    row = judge(sites.SiteCheck("c http", "http", "cells.ebisc.org", "backend", vm="ims"), fake)
    assert row.ok, row
    assert "ims-uwsgi (uwsgi) on ims" in row.seen and "http://cells.ebisc.org/ → 301" in row.seen
    assert "certificate of current/cells.ebisc.org" in row.seen
    assert [a[0] for a in fake.asked] == ["http", "https"]


def test_the_same_image_on_the_wrong_vm_fails():
    row = judge(sites.SiteCheck("c https", "https", "cells.ebisc.org", "backend", vm="ims"),
                FakeBastion(wrong_backend=True))
    assert not row.ok and "on ims-staging" in row.seen


def test_a_wrong_certificate_fails_even_from_the_right_vm():
    row = judge(sites.SiteCheck("c https", "https", "cells.ebisc.org", "backend", vm="ims"), FakeBastion(cert=b"X"))
    assert not row.ok and "not the certificate" in row.seen


def test_staging_gets_the_credentials_and_the_auth_check_sends_none():
    fake = FakeBastion()
    row = judge(sites.SiteCheck("s", "https", "cells-stage.ebisc.org", "backend", vm="ims-staging",
                                credentials=True), fake)
    assert row.ok and fake.asked[-1][3] == ("u", "p")
    row = judge(sites.SiteCheck("a", "https", "cells-stage.ebisc.org", "auth"), fake)
    assert row.ok and "Basic" in row.seen and fake.asked[-1][3] is None
    row = judge(sites.SiteCheck("s", "https", "cells-stage.ebisc.org", "backend", vm="ims-staging"), fake)
    assert not row.ok and "401" in row.seen  # without credentials staging never answers


def test_an_open_staging_site_fails_the_auth_check():
    open_site = lambda ports, scheme, host, path, auth=None: sites.Answer(200, {}, body("b" * 64))
    assert not judge(sites.SiteCheck("a", "https", "cells-stage.ebisc.org", "auth"), open_site).ok


def test_alias_redirect_and_acme():
    fake = FakeBastion()
    assert judge(sites.SiteCheck("r", "https", "ims.ebisc.org", "redirect", location="https://cells.ebisc.org/"),
                 fake).ok
    wrong = judge(sites.SiteCheck("r", "https", "ims.ebisc.org", "redirect", location="https://other/"), fake)
    assert not wrong.ok and "https://cells.ebisc.org/" in wrong.seen
    assert judge(sites.SiteCheck("t", "http", "ims.ebisc.org", "acme", path="/.well-known/acme-challenge/x"), fake).ok
    assert not judge(sites.SiteCheck("t", "http", "ims.ebisc.org", "acme", path="/.well-known/x"), fake,
                     acme_body="other").ok


def test_redirects_out_of_the_fleet_are_not_followed():
    away = lambda ports, scheme, host, path, auth=None: sites.Answer(301, {"location": "https://evil.example/"}, "")
    row = judge(sites.SiteCheck("c", "http", "cells.ebisc.org", "backend", vm="ims"), away)
    assert not row.ok and "out of the fleet" in row.seen


def test_unreachable_bastion_fails_with_the_error():
    down = lambda ports, scheme, host, path, auth=None: sites.Answer(0, {}, "", error="ConnectionRefusedError")
    row = judge(sites.SiteCheck("c", "http", "tracker.ebisc.org", "backend", vm="tracker"), down)
    assert not row.ok and "ConnectionRefusedError" in row.seen


def test_who_answered():
    assert sites.who_answered(body("c" * 64), CONTAINERS) == ("tracker", "tracker-webserver (tw) on tracker")
    assert sites.who_answered("<html>nginx</html>", CONTAINERS)[0] is None
    vm, why = sites.who_answered(body("d" * 64), CONTAINERS)
    assert vm is None and "runs on no booted VM" in why


def test_parse_podman_ps_and_first_certificate():
    text = f"{'a' * 64} ims-uwsgi registry.ebisc.org/ebisc/ims-uwsgi:latest\nError: junk\n"
    assert sites.parse_podman_ps(text) == {"a" * 64: "ims-uwsgi (registry.ebisc.org/ebisc/ims-uwsgi:latest)"}
    der = b"\x30\x03\x02\x01\x01"
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(der).decode() + "\n-----END CERTIFICATE-----\n"
    assert sites.first_certificate(pem + pem.replace("MAMCAQE", "MAMCAQI")) == der
    assert sites.first_certificate("cat: no such file") is None


def test_render_fleet_refuses_an_unknown_vm():
    from stoker.errors import UsageError
    with pytest.raises(UsageError, match="no VM named web in vms/"):
        render_fleet(["web"])


def test_a_fleet_without_its_bastion_is_refused_before_any_boot():
    from stoker.errors import UsageError
    with pytest.raises(UsageError, match=r"the VMs named \(ims, tracker\) include no bastion: .* name it too"):
        render_fleet(["ims", "tracker"])


def test_the_cli_says_what_is_wrong_without_a_traceback():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "stoker.cli", "fleet-test", "web"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no VM named web" in proc.stderr and "Traceback" not in proc.stderr


def test_every_site_has_its_own_https_server_on_the_bastion(bastion):
    """Found writing the fleet test's HTTPS site check: tracker.ebisc.org had no HTTPS server, so
    nginx answered an HTTPS request for it with its first HTTPS server, the IMS's (IMS pages under
    the IMS's certificate)."""
    sites_of = {k: v for k, v in load_fleet().data["sites"].items() if k != "aliases"}
    for key, site in sites_of.items():
        server = bastion.server_for(site, tls=True)
        assert server is not None, f"no HTTPS server for {site}"
        assert server.certificate == f"/etc/letsencrypt/current/{site}/fullchain.pem"


def _self_signed(tmp_path, name):
    """A self-signed certificate and key for `name`, as PEM files; returns (cert path, key path, DER)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import datetime
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, cert.public_bytes(serialization.Encoding.DER)


def test_fetch_keeps_the_certificate_a_closing_https_server_served(tmp_path):
    """Bug seen in the fleet run: every HTTPS row said "not the certificate of current/SITE" because
    http.client drops the socket once a `Connection: close` answer is read, and the certificate was
    read from it afterwards. The served certificate is now kept at the handshake (per SNI name)."""
    import http.server
    import threading
    cells = _self_signed(tmp_path, "cells.ebisc.org")
    tracker = _self_signed(tmp_path, "tracker.ebisc.org")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cells[0], cells[1])
    other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.load_cert_chain(tracker[0], tracker[1])
    ctx.sni_callback = lambda sock, name, _: setattr(sock, "context", other) if name == "tracker.ebisc.org" else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello"
            self.send_response(200)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        ports = {"https": server.server_address[1], "http": 1}
        answer = sites.fetch(ports, "https", "cells.ebisc.org", "/")
        assert (answer.status, answer.body) == (200, "hello")
        assert answer.certificate == cells[2]
        assert sites.fetch(ports, "https", "tracker.ebisc.org", "/").certificate == tracker[2]
    finally:
        server.shutdown()
        server.server_close()

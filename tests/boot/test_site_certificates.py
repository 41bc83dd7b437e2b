"""The fleet test's HTTPS identity check: the certificate each site serves is compared with the one
the bastion holds for it. One the test cannot read (missing, unreadable, not PEM) fails the site's
HTTPS rows with the path and the error; it is never skipped while the rows pass. A fake bastion guest
answers the SSH commands; no QEMU."""

import base64
import shlex

import pytest

from stoker.boot import sites
from stoker.boot.checks import Results
from stoker.boot.fleettest import Rendered, _prepare_bastion, _site_checks, render_fleet
from stoker.fleet.definitions import load_fleet

DER = b"\x30\x03\x02\x01\x01"
PEM = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(DER).decode() + "\n-----END CERTIFICATE-----\n"
CELLS = "/var/mnt/bastion-data/letsencrypt/current/cells.ebisc.org/fullchain.pem"


@pytest.fixture(scope="module")
def rendered():
    return render_fleet()


@pytest.fixture(scope="module")
def proxy(rendered):
    return sites.read_bastion("bastion", rendered.configs["bastion"])


class FakeGuest:
    """The bastion over SSH: `cat` of a certificate answers from `files` (path → PEM text, or an
    error message as cat prints it); everything else succeeds."""

    def __init__(self, files: dict[str, str]):
        self.files = files
        self.last_stderr = ""

    def sh(self, script: str, timeout: float = 120):
        self.last_stderr = ""
        if script.startswith("cat -- "):
            path = shlex.split(script)[2]
            text = self.files.get(path, f"cat: {path}: No such file or directory")
            if text.startswith("cat: "):
                self.last_stderr = text + "\n"
                return 1, ""
            return 0, text
        return 0, ""


def cert_paths(proxy, names):
    return {n: proxy.vm_path(proxy.server_for(n, tls=True).certificate) for n in names}


def test_each_sites_certificate_is_read_from_its_ssl_certificate_file(proxy):
    names = ["cells.ebisc.org", "tracker.ebisc.org"]
    paths = cert_paths(proxy, names)
    assert paths["cells.ebisc.org"] == CELLS
    certs, unread, problem = _prepare_bastion(FakeGuest({p: PEM for p in paths.values()}), proxy, names, "t", "b")
    assert certs == {n: DER for n in names} and unread == {} and problem == ""


def test_an_unreadable_or_missing_certificate_is_reported_with_path_and_error(proxy):
    names = ["cells.ebisc.org", "tracker.ebisc.org", "cells-stage.ebisc.org"]
    paths = cert_paths(proxy, names)
    guest = FakeGuest({paths["cells.ebisc.org"]: f"cat: {paths['cells.ebisc.org']}: Permission denied",
                       paths["cells-stage.ebisc.org"]: "not a certificate"})
    certs, unread, _ = _prepare_bastion(guest, proxy, names, "t", "b")
    assert certs == {}
    assert unread["cells.ebisc.org"] == f"cannot read {CELLS} on bastion: Permission denied"
    assert unread["tracker.ebisc.org"] == (f"cannot read {paths['tracker.ebisc.org']} on bastion: "
                                           "No such file or directory")
    assert unread["cells-stage.ebisc.org"] == f"{paths['cells-stage.ebisc.org']} on bastion holds no PEM certificate"


def answering_bastion(ports, scheme, host, path, auth=None):
    """Every site answers 200 from the right VM's container, with the certificate DER over HTTPS."""
    vm = {"cells.ebisc.org": "ims", "tracker.ebisc.org": "tracker"}[host]
    return sites.Answer(200, {}, f"stoker stand-in for x on {vm[0] * 12}", DER if scheme == "https" else None)


def test_a_site_whose_certificate_was_not_read_fails_its_https_row(proxy):
    containers = {"ims": {"i" * 64: "ims-nginx (x)"}, "tracker": {"t" * 64: "tracker-webserver (x)"}}
    checks = [sites.SiteCheck(f"{h} https", "https", h, "backend", vm=vm)
              for h, vm in (("cells.ebisc.org", "ims"), ("tracker.ebisc.org", "tracker"))]
    prepared = {"certs": {"tracker.ebisc.org": DER},
                "unread": {"cells.ebisc.org": f"cannot read {CELLS} on bastion: Permission denied"}, "problem": ""}
    results = Results()
    _site_checks(results, checks, proxy, {"http": 1, "https": 2}, containers, Rendered({}, None, None), prepared,
                 "b", True, load_fleet().data, fetcher=answering_bastion)
    rows = {c.name: c for c in results.checks}
    assert rows["tracker.ebisc.org https"].ok, rows["tracker.ebisc.org https"]
    cells = rows["cells.ebisc.org https"]
    assert not cells.ok
    assert (f"certificate of current/cells.ebisc.org was not compared: cannot read {CELLS} on bastion: "
            "Permission denied") in cells.seen
    assert not results.ok


def test_no_known_certificate_is_never_a_pass():
    ctx = sites.Context(ports={"http": 1, "https": 2}, containers={"tracker": {"t" * 64: "tw (x)"}},
                        names={"tracker.ebisc.org"})
    results = Results()
    sites.evaluate(sites.SiteCheck("t https", "https", "tracker.ebisc.org", "backend", vm="tracker"), ctx, results,
                   answering_bastion)
    assert not results.checks[0].ok and "was not compared: the test did not read it" in results.checks[0].seen

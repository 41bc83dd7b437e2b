import xml.etree.ElementTree as ET

from stoker.boot.checks import ADDED, Results
from stoker.boot.junit import junit_xml


def test_junit_counts_failures_and_explains_them():
    r = Results()
    r.add("service", "web.service", True, "active (running)", "active (running)")
    r.add("port", "tcp/8080", False, "accepts connections", "refused", "ss output")
    r.add(ADDED, "registry mirror", True, "/etc/containers/registries.conf.d/99-stoker-boot-test.conf",
          "quay.io pulled from the test registry at 10.0.2.2:5000")
    root = ET.fromstring(junit_xml([("tracker", r, 12.3)]))
    suite = root.find("testsuite")
    assert suite.get("name") == "boot.tracker" and suite.get("tests") == "3" and suite.get("failures") == "1"
    fail = suite.find("testcase[@name='tcp/8080']/failure")
    assert fail.get("message") == "expected accepts connections; saw refused" and fail.text == "ss output"
    out = suite.find(f"testcase[@classname='boot.tracker.{ADDED}']/system-out")
    assert "test registry at 10.0.2.2:5000" in out.text


def test_console_escapes_never_break_the_xml():
    """Bug seen in the fleet test: an emergency shell's console lines carry ANSI escapes (ESC), and the
    JUnit file was not well-formed XML."""
    r = Results()
    r.add("console", "emergency shell", False, "no emergency shell", "\x1b[0;1;31mFAILED\x1b[0m mount\x07",
          "[\x1b[0;32m  OK  \x1b[0m] Reached target\x00 x")
    root = ET.fromstring(junit_xml([("ims", r, 1.0)]))
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message") == "expected no emergency shell; saw FAILED mount"
    assert failure.text == "[  OK  ] Reached target x"

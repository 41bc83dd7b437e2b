import xml.etree.ElementTree as ET

from stoker.boot.checks import ADDED, NOT_EXERCISED, Results
from stoker.boot.junit import junit_xml


def test_junit_counts_failures_and_explains_them():
    r = Results()
    r.add("service", "web.service", True, "active (running)", "active (running)")
    r.add("port", "tcp/8080", False, "accepts connections", "refused", "ss output")
    r.add(ADDED, "registry mirror", True, "/etc/containers/registries.conf.d/99-stoker-boot-test.conf",
          "quay.io pulled from the test registry at 10.0.2.2:5000")
    root = ET.fromstring(junit_xml([("tracker", r, 12.3)]))
    suite = root.find("testsuite")
    assert suite.get("name") == "boot.tracker" and suite.get("tests") == "2" and suite.get("failures") == "1"
    fail = suite.find("testcase[@name='tcp/8080']/failure")
    assert fail.get("message") == "expected accepts connections; saw refused" and fail.text == "ss output"
    assert "test registry at 10.0.2.2:5000" in suite.find("system-out").text


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


def _mixed() -> Results:
    r = Results()
    r.add(ADDED, "SSH key", True, "/home/core/.ssh/authorized_keys.d/ignition", "a throwaway key for core")
    r.add(NOT_EXERCISED, "SELinux", True, "SELINUX=enforcing", "NOT EXERCISED: the offline image has no SELinux")
    r.add(NOT_EXERCISED, "container probes", True, "probes inside the guest's container networks",
          "NOT RUN: the config runs no containers")
    r.add("service", "web.service", True, "active (running)", "active (running)")
    r.add("port", "tcp/8080", False, "accepts connections", "refused")
    return r


def test_a_check_that_did_not_run_is_skipped_not_passed():
    """Found in review: NOT RUN rows were test cases without a result (passed), skipped="0"."""
    suite = ET.fromstring(junit_xml([("web", _mixed(), 3.0)])).find("testsuite")
    counts = (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors"))
    assert counts == ("4", "1", "2", "0")
    skipped = {c.get("name"): c.find("skipped").get("message") for c in suite.iter("testcase")
               if c.find("skipped") is not None}
    assert skipped == {"SELinux": "NOT EXERCISED: the offline image has no SELinux",
                       "container probes": "NOT RUN: the config runs no containers"}
    passed = [c.get("name") for c in suite.iter("testcase") if not len(c)]
    assert passed == ["web.service"]


def test_additions_are_properties_of_the_suite_not_passed_test_cases():
    suite = ET.fromstring(junit_xml([("web", _mixed(), 3.0)])).find("testsuite")
    assert "SSH key" not in [c.get("name") for c in suite.iter("testcase")]
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {f"{ADDED}: SSH key": "/home/core/.ssh/authorized_keys.d/ignition: a throwaway key for core"}
    assert "SSH key" in suite.find("system-out").text
    assert list(suite)[0].tag == "properties"  # the schema's order: properties, test cases, system-out


def test_a_run_that_did_not_complete_is_one_error():
    from stoker.boot.junit import junit_error_xml
    root = ET.fromstring(junit_error_xml("tracker", "interrupted (Ctrl-C or SIGTERM)", 4.0))
    suite = root.find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("errors"), suite.get("failures")) == \
        ("boot.tracker", "1", "1", "0")
    error = suite.find("testcase/error")
    assert error.get("message") == "interrupted (Ctrl-C or SIGTERM)"

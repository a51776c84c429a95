"""The trainer's classroom in a real headless Chromium (Debian's `chromium` and
`chromium-driver`; .ci/run installs them), against the real `tierline trainer` command.

The journey is clicked through the page: /start, to a booked Tier 2 callback, the
highlighted state changing on the way; the clock jumps to the callback, the trainer takes
it as the officer and records a field-office appointment, and the appointment notice
appears in the conversation. A screenshot is saved under artifacts/ (gitignored) and its
path printed.

Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver explicitly, so
selenium-manager never tries to download a browser or a driver.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install chromium and chromium-driver (see .ci/run)")
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 20  # seconds a page change may take


def wait(driver: Any) -> WebDriverWait:
    """Wait for the page; an element redrawn meanwhile is simply looked up again."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))


@pytest.fixture
def trainer(tmp_path: Path) -> Iterator[str]:
    """`tierline trainer` on a free port, its clock on Monday 23 November 2026, 10:00."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SE_OFFLINE": "true"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "trainer",
            "--port",
            "0",
            "--db",
            str(tmp_path / "trainer.db"),
            "--now",
            "2026-11-23T10:00",
            "--save-dir",
            str(tmp_path / "recordings"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert m, line + (proc.stderr.read().decode() if proc.stderr else "")
        yield m.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-', dir=tmp_path)}",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def state_of(driver: Any) -> str:
    return str(driver.find_element(By.ID, "state").text)


def wait_state(driver: Any, state: str) -> None:
    wait(driver).until(lambda d: state_of(d) == state, f"state {state}")


def press(driver: Any, label: str) -> None:
    """Click the button labelled exactly `label` on the applicant's keyboard."""

    def find(d: Any) -> Any:
        for b in d.find_elements(By.CSS_SELECTOR, "#keyboard button"):
            if b.text == label:
                return b
        return False

    before = len(driver.find_elements(By.CSS_SELECTOR, "#events li"))
    wait(driver).until(find, f"a button {label!r}").click()
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#events li")) > before)


def type_as_applicant(driver: Any, text: str) -> None:
    before = len(driver.find_elements(By.CSS_SELECTOR, "#events li"))
    box = driver.find_element(By.ID, "say-text")
    box.send_keys(text)
    driver.find_element(By.ID, "say-send").click()
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#events li")) > before)


def test_a_journey_to_a_booked_callback_then_the_officer_books_a_visit(
    trainer: str, browser: Any
) -> None:
    d = browser
    d.get(trainer)
    wait(d).until(lambda d: d.find_element(By.ID, "clock").text)
    assert "November 23, 2026" in d.find_element(By.ID, "clock").text

    type_as_applicant(d, "/start")
    wait_state(d, "automated.menu")
    highlighted = d.find_element(By.CSS_SELECTOR, "#states li.current")
    assert highlighted.get_attribute("data-state") == "automated.menu"
    assert "current" in d.find_element(By.CSS_SELECTOR, "#tiers li.automated").get_attribute(
        "class"
    )

    press(d, "Talk to a person")
    wait_state(d, "tier1.intake")
    assert d.find_element(By.CSS_SELECTOR, "#states li.current").get_attribute("data-state") == (
        "tier1.intake"
    )
    fired = d.find_element(By.ID, "fired").text.casefold()
    assert "just fired" in fired and "escalate" in fired
    press(d, "I am the applicant")
    press(d, "Something else")
    wait_state(d, "tier2.slots")
    assert "current" in d.find_element(By.CSS_SELECTOR, "#tiers li.tier2").get_attribute("class")
    press(d, "Mon Nov 23, from 11:00 a.m.")
    press(d, "2:00 p.m.")
    wait_state(d, "tier2.phone")
    type_as_applicant(d, "555-0143")  # no area code: a guard says no
    wait(d).until(lambda d: d.find_element(By.ID, "refused").is_displayed())
    assert "tier2.bad_phone" in d.find_element(By.ID, "refused").text
    assert state_of(d) == "tier2.phone"
    type_as_applicant(d, "(212) 555-0187")
    type_as_applicant(d, "20120")
    wait_state(d, "tier2.confirm")
    press(d, "Yes, book it")
    wait_state(d, "tier2.booked")
    assert "Your reference is CB-" in d.find_element(By.ID, "events").text

    # The clock jumps to the callback; the trainer takes it as the officer.
    jump = d.find_element(By.CSS_SELECTOR, '#moments button[data-kind="callback"]')
    assert jump.get_attribute("data-at").startswith("2026-11-23T14:00")
    jump.click()
    wait(d).until(lambda d: "2:00 p.m." in d.find_element(By.ID, "clock").text)
    d.find_element(By.CSS_SELECTOR, "#queue button.take").click()
    wait(d).until(lambda d: d.find_element(By.ID, "taken").is_displayed())
    assert "(212) 555-0187" in d.find_element(By.ID, "taken").text
    d.find_element(By.CSS_SELECTOR, '#outcome option[value="appointment"]').click()
    d.find_element(By.ID, "complete").click()

    def notice(d: Any) -> Any:
        for e in d.find_elements(By.CSS_SELECTOR, '#events li[data-kind="notice"]'):
            if "booked you an in-person appointment" in e.text:
                return e.text
        return False

    shown = wait(d).until(notice, "the appointment notice")
    assert "Washington Field Office" in shown

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "trainer-classroom.png"
    assert d.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors

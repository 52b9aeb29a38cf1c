"""Browser fixtures: the quick-start stack (scripts/run_stack.py) once per module, Debian's
Chromium (never a downloaded browser), and pages at a phone viewport (390×844, touch) and a
desktop one (1280×800). Every page fails its test on an uncaught JavaScript error, and on
anything the services' Content-Security-Policy blocked (issue 10, item 11)."""

import subprocess

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.quick_stack import QuickStack
from tests.support.processes import ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
DEVICES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    quick = QuickStack(tmp_path_factory.mktemp("quick-start-var"), "browser").start()
    yield quick
    quick.stop()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium, installed by scripts/ensure-chromium.sh when missing. Asked for
    here, so only a run that selects a browser test needs one: `-m 'not browser'` neither looks
    for nor installs it."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "ensure-chromium.sh")], stdout=subprocess.PIPE, text=True
    )  # its stderr (apt-get's progress, the reason of a failure) goes to the run's output
    if found.returncode != 0 or not found.stdout.strip():
        pytest.fail(
            "No Chromium for the browser tests and scripts/ensure-chromium.sh could not install "
            "one (its reason is above). Install Chromium or set CHROMIUM=/path/to/chromium; "
            "or deselect them with -m 'not browser'.",
            pytrace=False,
        )
    return found.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def browser(chromium: str) -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Browser, device: str, locale: str = "en-US"):
    context = browser.new_context(**DEVICES[device], locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.device = device
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium reports what the Content-Security-Policy blocked on the console
    page.on("console", lambda message: errors.extend(csp_violations(message)))
    return context, page, errors


def csp_violations(message) -> list[str]:
    text = message.text
    return [text] if "Content Security Policy" in text else []


@pytest.fixture(params=["phone", "desktop"])
def any_page(request, browser: Browser, stack: QuickStack):
    """The same test at both viewports."""
    context, page, errors = open_page(browser, request.param)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def phone(browser: Browser, stack: QuickStack):
    context, page, errors = open_page(browser, "phone")
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def make_page(browser: Browser, stack: QuickStack):
    """`make_page(device, locale)`: a page in a browser of that language."""
    opened = []

    def make(device: str = "phone", locale: str = "en-US"):
        context, page, errors = open_page(browser, device, locale)
        opened.append((context, errors))
        return page

    yield make
    for context, errors in opened:
        context.close()
        assert not errors, f"JavaScript errors: {errors}"

"""Browser fixtures: the quick-start stack (scripts/run_stack.py) once per module, Debian's
Chromium (never a downloaded browser), and pages at a phone viewport (390×844, touch) and a
desktop one (1280×800). Every page fails its test on an uncaught JavaScript error."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.quick_stack import QuickStack

CHROMIUM = "/usr/bin/chromium"
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


@pytest.fixture(scope="module")
def browser() -> Browser:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/ensure-chromium.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Browser, device: str, locale: str = "en-US"):
    context = browser.new_context(**DEVICES[device], locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.device = device
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


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

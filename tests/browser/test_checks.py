"""The checks every storefront view gets do catch what they look for: on a page made wrong on
purpose, the axe audit, the sideways-scroll check and the keyboard check each fail."""

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import open_page
from tests.browser.shopper import (
    assert_keyboard_reaches_every_control,
    assert_no_sideways_scroll,
    audit,
)

pytestmark = pytest.mark.browser

GOOD = """<!doctype html><html lang="en"><head><title>fine</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<main><h1>Fine</h1><a href="#x">a link</a> <button>a button</button></main></body></html>"""


@pytest.fixture
def page(browser: Browser):
    context, page, _ = open_page(browser, "phone")
    yield page
    context.close()


def test_a_good_page_passes_every_check(page):
    page.set_content(GOOD)
    audit(page, "good")
    assert_no_sideways_scroll(page, "good")
    assert_keyboard_reaches_every_control(page, "good")


def test_axe_finds_serious_violations(page):
    page.set_content(
        GOOD.replace("<h1>Fine</h1>", '<h1>Fine</h1><img src="x.png"><button></button>')
    )
    with pytest.raises(AssertionError, match="image-alt"):
        audit(page, "bad")
    page.set_content(GOOD.replace("<h1>Fine</h1>", '<p style="color:#1677ff">brand blue</p>'))
    with pytest.raises(AssertionError, match="color-contrast"):
        audit(page, "low contrast")


def test_a_too_wide_element_is_sideways_scrolling(page):
    page.set_content(
        GOOD.replace("<h1>Fine</h1>", '<table style="width:614px"><tr><td>cart</td></tr></table>')
    )
    with pytest.raises(AssertionError, match="table"):
        assert_no_sideways_scroll(page, "wide")


def test_a_control_out_of_the_tab_order_is_found(page):
    page.set_content(GOOD.replace("<button>", '<button tabindex="-1">'))
    with pytest.raises(AssertionError, match="not reached with Tab"):
        assert_keyboard_reaches_every_control(page, "unreachable")

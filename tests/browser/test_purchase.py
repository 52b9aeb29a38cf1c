"""A person buys something in the storefront, in headless Chromium, against the quick-start stack
(`scripts/run_stack.py`: SQLite, in-process cart, the Alipay emulator): register, fill the cart,
check out with a new address and Alipay, press Pay on the emulator's cashier page, and come back
to the order page showing the order paid. Also: cancelling an unpaid order, the out-of-stock and
session-expired messages."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.quick_stack import QuickStack
from tests.support.processes import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 15_000


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


@pytest.fixture
def page(browser: Browser, stack: QuickStack) -> Page:
    context = browser.new_context(viewport={"width": 1200, "height": 860}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def expect_no_leaked_values(page: Page) -> None:
    """Nothing of the program's insides shows through as text."""
    for leaked in ("null", "undefined", "NaN", "[object Object]", '{"'):
        expect(page.get_by_test_id("main")).not_to_contain_text(leaked)


def register(page: Page, stack: QuickStack) -> str:
    username = f"buyer-{uuid.uuid4().hex[:8]}"
    page.goto(stack.storefront)
    page.get_by_test_id("nav-login").click()
    page.get_by_test_id("register-username").fill(username)
    page.get_by_test_id("register-password").fill("correct horse battery")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("nav-user")).to_have_text(username)
    expect(page.get_by_test_id("flash")).to_contain_text(f"Welcome, {username}")
    return username


def sku_card(page: Page, name: str):
    return page.get_by_test_id("sku-card").filter(
        has=page.get_by_test_id("sku-name").get_by_text(name, exact=True)
    )


def add_to_cart(page: Page, name: str) -> None:
    page.get_by_test_id("nav-catalog").click()
    sku_card(page, name).get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("flash")).to_contain_text(f"Added “{name}” to your cart")


def cart_row(page: Page, name: str):
    return page.get_by_test_id("cart-item").filter(
        has=page.get_by_test_id("cart-item-name").get_by_text(name, exact=True)
    )


def add_address(page: Page) -> None:
    form = page.get_by_test_id("address-form")
    expect(form).to_be_visible()
    for field, value in {
        "receiver": "Li Lei",
        "mobile": "13800138000",
        "province": "Zhejiang",
        "city": "Hangzhou",
        "district": "Xihu",
        "place": "1 Wensan Road",
    }.items():
        form.get_by_test_id(f"address-{field}").fill(value)
    form.get_by_test_id("address-save").click()
    expect(page.get_by_test_id("address-option").filter(has_text="Li Lei")).to_be_visible()
    expect(page.get_by_test_id("address-option").locator("input")).to_be_checked()


def place_alipay_order(page: Page, stack: QuickStack) -> None:
    """From the cart: check out with a new address and Alipay; ends on the emulator's cashier."""
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    add_address(page)
    expect(page.get_by_test_id("pay-alipay")).to_be_checked()
    page.get_by_test_id("place-order").click()
    page.wait_for_url(re.compile(re.escape(stack.url("sandbox")) + ".*"))
    expect(page.locator("#pay")).to_be_visible()


def test_a_person_buys_with_alipay_and_sees_the_order_paid(page: Page, stack: QuickStack):
    page.goto(stack.storefront)
    expect(page.get_by_test_id("sku-card")).to_have_count(12)
    expect_no_leaked_values(page)
    (ROOT / "docs").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "docs" / "storefront.png"))

    register(page, stack)
    add_to_cart(page, "Oolong Tea — 250 g tin")
    add_to_cart(page, "Oolong Tea — 250 g tin")
    add_to_cart(page, "Paper Lantern — Small")
    expect(page.get_by_test_id("cart-count")).to_have_text("3")

    # Only what is selected is ordered; the rest stays in the cart.
    page.get_by_test_id("nav-cart").click()
    tea_count = cart_row(page, "Oolong Tea — 250 g tin").get_by_test_id("cart-item-count")
    expect(tea_count).to_have_value("2")
    expect(page.get_by_test_id("cart-total")).to_have_text("¥188.50")
    expect_no_leaked_values(page)
    cart_row(page, "Paper Lantern — Small").get_by_test_id("cart-item-select").uncheck()
    expect(page.get_by_test_id("cart-total")).to_have_text("¥176.00")

    place_alipay_order(page, stack)
    expect(page.locator("#amount")).to_have_text("186.00")  # 2 × 88.00 + 10.00 freight
    page.locator("#pay").click()

    # Back from Alipay: the storefront opens the order and follows it until it is paid.
    page.wait_for_url(re.compile(re.escape(stack.storefront) + r"#/orders/\w+"))
    status = page.get_by_test_id("order-status")
    expect(status).to_have_attribute("data-status", "unsent")
    expect(status).to_have_text("Paid — awaiting shipment")
    expect(page.get_by_test_id("payment-confirmed")).to_contain_text("Payment received")
    expect(page.get_by_test_id("order-total")).to_have_text("¥186.00")
    expect(page.get_by_test_id("order-items")).to_contain_text("Oolong Tea — 250 g tin")
    expect(page.get_by_test_id("pay-button")).to_have_count(0)
    order_id = page.get_by_test_id("order-id").inner_text()
    expect_no_leaked_values(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "paid-order.png"), full_page=True)

    page.get_by_test_id("nav-orders").click()
    row = page.get_by_test_id("order-row").filter(has_text=order_id)
    expect(row).to_have_attribute("data-status", "unsent")
    expect(row).to_contain_text("Paid — awaiting shipment")

    page.get_by_test_id("nav-cart").click()
    expect(page.get_by_test_id("cart-item")).to_have_count(1)
    expect(page.get_by_test_id("cart-item-name")).to_have_text("Paper Lantern — Small")

    page.get_by_test_id("nav-catalog").click()
    tea_stock = sku_card(page, "Oolong Tea — 250 g tin").get_by_test_id("sku-stock")
    expect(tea_stock).to_have_text("58 in stock")


def test_a_person_leaves_the_cashier_and_cancels_the_unpaid_order(page: Page, stack: QuickStack):
    register(page, stack)
    add_to_cart(page, "Ceramic Teacup — Celadon")
    place_alipay_order(page, stack)

    page.goto(stack.storefront + "#/orders")  # changed their mind at the cashier
    row = page.get_by_test_id("order-row").first
    expect(row).to_have_attribute("data-status", "unpaid")
    expect(row).to_contain_text("Awaiting payment")
    row.get_by_test_id("order-link").click()
    expect(page.get_by_test_id("pay-button")).to_be_visible()
    page.get_by_test_id("cancel-button").click()
    page.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "canceled")
    expect(page.get_by_test_id("flash")).to_have_text("The order is cancelled.")
    expect(page.get_by_test_id("cancel-button")).to_have_count(0)

    page.get_by_test_id("nav-catalog").click()
    cup_stock = sku_card(page, "Ceramic Teacup — Celadon").get_by_test_id("sku-stock")
    expect(cup_stock).to_have_text("40 in stock")


def test_ordering_more_than_is_left_says_how_many_are_left(page: Page, stack: QuickStack):
    register(page, stack)
    add_to_cart(page, "Silk Scarf — Jade Green")
    page.get_by_test_id("nav-cart").click()
    count = cart_row(page, "Silk Scarf — Jade Green").get_by_test_id("cart-item-count")
    count.fill("6")
    count.dispatch_event("change")
    expect(count).to_have_value("6")
    page.get_by_test_id("checkout-button").click()
    add_address(page)
    page.get_by_test_id("place-order").click()
    flash = page.get_by_test_id("flash")
    expect(flash).to_have_text("Sorry, only 5 of “Silk Scarf — Jade Green” left.")
    expect(flash).not_to_contain_text("{")
    expect(page.get_by_test_id("checkout-page")).to_be_visible()


def test_an_expired_session_asks_to_log_in_again(page: Page, stack: QuickStack):
    username = register(page, stack)
    page.evaluate("localStorage.setItem('shop.token', 'expired.or.forged')")
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("flash")).to_have_text("Your session expired, please log in again")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("nav-login")).to_be_visible()

    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("flash")).to_have_text("Wrong username or password.")
    page.get_by_test_id("login-password").fill("correct horse battery")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("orders-page")).to_be_visible()  # back where the session ended
    expect(page.get_by_test_id("nav-user")).to_have_text(username)


def test_a_malformed_address_is_named_in_words(page: Page, stack: QuickStack):
    register(page, stack)
    add_to_cart(page, "Paper Lantern — Large")
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    form = page.get_by_test_id("address-form")
    for field in ("receiver", "province", "city", "district", "place"):
        form.get_by_test_id(f"address-{field}").fill("x")
    form.get_by_test_id("address-mobile").fill("call me")
    form.get_by_test_id("address-save").click()
    expect(page.get_by_test_id("flash")).to_have_text("Please check the mobile number.")
    expect(page.get_by_test_id("address-option")).to_have_count(0)


def test_a_retried_click_after_a_lost_answer_places_one_order(page: Page, stack: QuickStack):
    register(page, stack)
    add_to_cart(page, "Bamboo Notebook — A4 blank")
    posts = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()  # the order service has answered: the order exists
        posts.append(route.request.header_value("Idempotency-Key"))
        if len(posts) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/api/orders", lose_the_first_answer)
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    add_address(page)
    page.get_by_test_id("pay-cash").check()
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("flash")).to_contain_text("cannot reach the shop")
    page.get_by_test_id("place-order").click()

    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unsent")
    expect(page.get_by_test_id("order-status")).to_have_text("Cash on delivery — awaiting shipment")
    assert len(posts) == 2 and posts[0] and posts[0] == posts[1]
    page.unroute("**/api/orders")
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    page.get_by_test_id("nav-catalog").click()
    notebook_stock = sku_card(page, "Bamboo Notebook — A4 blank").get_by_test_id("sku-stock")
    expect(notebook_stock).to_have_text("79 in stock")

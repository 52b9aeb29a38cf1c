"""A person shops in the storefront, in headless Chromium, on a phone (390×844, touch) and on a
desktop (1280×800), against the quick-start stack (`scripts/run_stack.py`: SQLite, in-process
cart, the Alipay emulator): search, choose a variant on the goods' page, fill the cart, see the
full amount with freight, pay at the emulator's cashier and land on the order, paid. Also:
leaving the cashier and cancelling, receiving and reviewing, the not-found view, both languages,
and the errors in words. Every view is audited with axe-core, checked for sideways scrolling on
the phone, and photographed into test-artifacts/storefront/."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.quick_stack import QuickStack
from tests.browser.shopper import (
    add_address,
    add_to_cart,
    cart_item,
    check_view,
    open_goods,
    register,
    sku_stock,
    to_cashier,
)
from tests.support.data import ADDRESS
from tests.support.processes import run_module

pytestmark = pytest.mark.browser

TEA_250 = 2  # ids in scripts/demo-catalog.json
CUP_CELADON = 4


def test_a_person_buys_with_alipay_and_lands_on_the_order_paid(any_page: Page, stack):
    page = any_page
    tea_before = sku_stock(stack, TEA_250)
    page.goto(stack.storefront)
    cards = page.get_by_test_id("goods-card")
    expect(cards).to_have_count(5)  # the demo catalog's five goods, each with its variants
    expect(cards.filter(has_text="Oolong Tea")).to_contain_text("from ¥38.00")
    expect(cards.filter(has_text="Oolong Tea").get_by_test_id("picture")).to_be_visible()
    expect(
        cards.filter(has_text="Bamboo Notebook").get_by_test_id("picture-placeholder")
    ).to_be_visible()
    check_view(page, "catalog", keyboard=True)

    page.get_by_test_id("search-input").fill("tea")
    page.get_by_test_id("search-submit").click()
    expect(page.get_by_test_id("search-summary")).to_have_text(
        "2 results for “tea” Show everything"
    )
    expect(page.get_by_test_id("goods-name")).to_have_text(["Oolong Tea", "Ceramic Teacup"])
    check_view(page, "search")

    register(page, stack)
    open_goods(page, stack, "Oolong Tea")
    expect(page.get_by_test_id("goods-description")).to_contain_text("Tieguanyin oolong")
    expect(page.get_by_test_id("variant")).to_have_count(3)
    page.get_by_test_id("variant").filter(has_text="250 g tin").locator("input").check()
    expect(page.get_by_test_id("variant-price")).to_have_text("¥88.00")
    page.get_by_test_id("quantity-increase").click()
    expect(page.get_by_test_id("goods-quantity")).to_have_value("2")
    check_view(page, "goods", keyboard=True)
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Added “Oolong Tea — 250 g tin”")
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    add_to_cart(page, stack, "Paper Lantern", "Paper Lantern — Small")

    # Only what is selected is ordered; the amounts include the freight.
    page.get_by_test_id("nav-cart").click()
    expect(
        cart_item(page, "Oolong Tea — 250 g tin").get_by_test_id("cart-item-count")
    ).to_have_value("2")
    expect(page.get_by_test_id("cart-items-total")).to_have_text("¥188.50")
    expect(page.get_by_test_id("cart-freight")).to_have_text("¥10.00")
    expect(page.get_by_test_id("cart-total")).to_have_text("¥198.50")
    check_view(page, "cart", keyboard=True)
    cart_item(page, "Paper Lantern — Small").get_by_test_id("cart-item-select").uncheck()
    expect(page.get_by_test_id("cart-total")).to_have_text("¥186.00")

    page.get_by_test_id("checkout-button").click()
    add_address(page)
    expect(page.get_by_test_id("checkout-total")).to_have_text("¥186.00")
    check_view(page, "checkout", keyboard=True)
    to_cashier(page, stack, "186.00")  # 2 × 88.00 + 10.00 freight, before Alipay and at it
    page.locator("#pay").click()

    # Back from Alipay: the order's page, following the order until it is paid.
    page.wait_for_url(re.compile(re.escape(stack.storefront) + r"#/orders/\w+"))
    status = page.get_by_test_id("order-status")
    expect(status).to_have_attribute("data-status", "unsent")
    expect(status).to_have_text("Paid — awaiting shipment")
    expect(page.get_by_test_id("payment-confirmed")).to_have_text("Payment received. Thank you!")
    expect(page.get_by_test_id("order-total")).to_have_text("¥186.00")
    expect(page.get_by_test_id("order-items")).to_contain_text("Oolong Tea — 250 g tin")
    expect(page.get_by_test_id("pay-button")).to_have_count(0)
    order_id = page.get_by_test_id("order-id").inner_text()
    check_view(page, "paid-order")
    assert sku_stock(stack, TEA_250) == tea_before - 2

    page.get_by_test_id("nav-orders").click()
    row = page.get_by_test_id("order-row").filter(has_text="Oolong Tea — 250 g tin × 2")
    expect(row).to_have_attribute("data-order-id", order_id)
    expect(row).to_contain_text("Paid — awaiting shipment")
    check_view(page, "orders", keyboard=True)
    page.get_by_test_id("order-filter").select_option("unpaid")
    expect(page.get_by_test_id("order-list-empty")).to_have_text(
        "No orders in this state. Start shopping"
    )
    page.get_by_test_id("order-filter").select_option("unsent")
    expect(page.get_by_test_id("order-row")).to_have_count(1)

    page.get_by_test_id("nav-cart").click()
    expect(page.get_by_test_id("cart-item")).to_have_count(1)
    expect(page.get_by_test_id("cart-item-name")).to_have_text("Paper Lantern — Small")


def test_a_person_leaves_the_cashier_lands_on_the_order_and_cancels_it(phone: Page, stack):
    page = phone
    cups_before = sku_stock(stack, CUP_CELADON)
    register(page, stack)
    add_to_cart(page, stack, "Ceramic Teacup", "Ceramic Teacup — Celadon")
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    add_address(page)
    to_cashier(page, stack, "55.50")
    assert sku_stock(stack, CUP_CELADON) == cups_before - 1

    page.locator("#cancel").click()  # changed their mind at the cashier
    page.wait_for_load_state("load")
    if page.url.startswith(stack.url("sandbox")):  # page pay: a "canceled" page links back
        page.locator("#back").click()  # (wap pay, as on this phone, goes back by quit_url)
    page.wait_for_url(re.compile(re.escape(stack.storefront) + r"#/orders/\w+"))
    word = page.get_by_test_id("payment-word")
    expect(word).to_have_attribute("data-word", "left")
    expect(word).to_contain_text("You left Alipay's cashier without paying.")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unpaid")
    expect(page.get_by_test_id("pay-button")).to_have_text("Pay ¥55.50 with Alipay")
    check_view(page, "left-cashier", keyboard=True)

    page.get_by_test_id("cancel-button").click()
    page.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "canceled")
    expect(page.get_by_test_id("flash")).to_contain_text("The order is cancelled.")
    expect(page.get_by_test_id("cancel-button")).to_have_count(0)
    check_view(page, "canceled-order")
    assert sku_stock(stack, CUP_CELADON) == cups_before


def test_my_orders_come_a_page_at_a_time(phone: Page, stack):
    page = phone
    register(page, stack)
    token = page.evaluate("localStorage.getItem('shop.token')")
    headers = {"Authorization": f"Bearer {token}"}
    base = stack.url("order")
    address = httpx.post(
        f"{base}/api/addresses",
        headers=headers,
        json=ADDRESS,
    ).json()  # fmt: skip
    for _ in range(12):
        body = {"address_id": address["id"], "pay_method": "cash",
                "items": [{"sku_id": 11, "count": 1}]}  # fmt: skip
        assert httpx.post(f"{base}/api/orders", headers=headers, json=body).status_code == 201
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("order-row")).to_have_count(10)
    expect(page.get_by_test_id("pager-page")).to_have_text("Page 1 of 2")
    check_view(page, "orders-page-1")
    page.get_by_test_id("pager-next").click()
    expect(page.get_by_test_id("order-row")).to_have_count(2)
    expect(page.get_by_test_id("order-row").first).to_contain_text(
        "Cash on delivery — awaiting shipment"
    )
    expect(page.get_by_test_id("pager-next")).to_be_disabled()


def test_unknown_addresses_show_the_not_found_view(any_page: Page, stack):
    page = any_page
    page.goto(stack.storefront + "#/no/such/page")
    expect(page.get_by_test_id("not-found-page")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_view(page, "not-found", keyboard=True)
    page.get_by_test_id("not-found-home").click()
    expect(page.get_by_test_id("catalog-page")).to_be_visible()

    page.goto(stack.storefront + "#/goods/99999")
    expect(page.get_by_test_id("flash-text")).to_have_text(
        re.compile("Sorry, that product does not exist")
    )
    expect(page.get_by_test_id("load-failed")).to_be_visible()
    check_view(page, "goods-not-found")


def test_a_chinese_browser_gets_chinese_and_can_switch(make_page, stack):
    page = make_page("phone", "zh-CN")
    page.goto(stack.storefront)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("nav-catalog")).to_have_text("商店")
    oolong = page.get_by_test_id("goods-card").filter(has_text="Oolong Tea")
    expect(oolong.get_by_test_id("goods-price")).to_have_text("¥38.00 起")
    check_view(page, "catalog-zh")
    page.goto(stack.storefront + "#/nowhere")
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")

    page.get_by_test_id("nav-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.reload()  # the choice is kept
    expect(page.get_by_test_id("nav-catalog")).to_have_text("Shop")

    english = make_page("phone", "en-US")
    english.goto(stack.storefront)
    expect(english.get_by_test_id("nav-catalog")).to_have_text("Shop")


def test_ordering_more_than_is_left_says_how_many_are_left(phone: Page, stack):
    page = phone
    register(page, stack)
    add_to_cart(page, stack, "Silk Scarf", "Silk Scarf — Jade Green")
    page.get_by_test_id("nav-cart").click()
    count = cart_item(page, "Silk Scarf — Jade Green").get_by_test_id("cart-item-count")
    count.fill("6")
    count.dispatch_event("change")
    expect(count).to_have_value("6")
    page.get_by_test_id("checkout-button").click()
    add_address(page)
    page.get_by_test_id("place-order").click()
    flash = page.get_by_test_id("flash-text")
    expect(flash).to_have_text("Sorry, only 5 of “Silk Scarf — Jade Green” left.")
    expect(page.get_by_test_id("checkout-page")).to_be_visible()
    check_view(page, "out-of-stock")


def test_an_expired_session_asks_to_log_in_again(phone: Page, stack):
    page = phone
    username = register(page, stack)
    page.evaluate("localStorage.setItem('shop.token', 'expired.or.forged')")
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("flash-text")).to_have_text(
        "Your session expired, please log in again"
    )
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("nav-login")).to_be_visible()
    check_view(page, "login", keyboard=True)

    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("flash-text")).to_have_text("Wrong username or password.")
    page.get_by_test_id("login-password").fill("correct horse battery")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("orders-page")).to_be_visible()  # back where the session ended
    expect(page.get_by_test_id("nav-user")).to_have_text(username)


def test_a_malformed_address_is_named_in_words(phone: Page, stack):
    page = phone
    register(page, stack)
    add_to_cart(page, stack, "Paper Lantern", "Paper Lantern — Large")
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    form = page.get_by_test_id("address-form")
    for field in ("receiver", "province", "city", "district", "place"):
        form.get_by_test_id(f"address-{field}").fill("x")
    form.get_by_test_id("address-mobile").fill("call me")
    form.get_by_test_id("address-save").click()
    expect(page.get_by_test_id("flash-text")).to_have_text("Please check the mobile number.")
    expect(page.get_by_test_id("address-option")).to_have_count(0)


def test_a_retried_click_after_a_lost_answer_places_one_order(phone: Page, stack: QuickStack):
    page = phone
    register(page, stack)
    notebooks_before = sku_stock(stack, 8)
    add_to_cart(page, stack, "Bamboo Notebook", "Bamboo Notebook — A4 blank")
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
    expect(page.get_by_test_id("place-order")).to_have_text("Place order, pay ¥36.00 on delivery")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("flash")).to_contain_text("cannot reach the shop")
    page.get_by_test_id("place-order").click()

    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unsent")
    expect(page.get_by_test_id("order-status")).to_have_text("Cash on delivery — awaiting shipment")
    assert len(posts) == 2 and posts[0] and posts[0] == posts[1]
    page.unroute("**/api/orders")
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    assert sku_stock(stack, 8) == notebooks_before - 1


def test_a_shipped_order_is_received_and_reviewed_from_my_orders(phone: Page, stack):
    page = phone
    admin = f"admin{uuid.uuid4().hex[:6]}"
    env = {
        "ORDER_DATABASE_URL": f"sqlite+aiosqlite:///{stack.var_dir / 'order.db'}",
        "ORDER_ADMIN_PASSWORD": "admin password 1",
    }
    run_module("order_service", "create-admin", admin, env=env)
    base = stack.url("order")
    admin_token = httpx.post(
        f"{base}/api/auth/token", data={"username": admin, "password": "admin password 1"}
    ).json()["access_token"]

    register(page, stack)
    headers = {"Authorization": f"Bearer {page.evaluate('localStorage.getItem(`shop.token`)')}"}
    address = httpx.post(
        f"{base}/api/addresses",
        headers=headers,
        json=ADDRESS,
    ).json()  # fmt: skip
    body = {"address_id": address["id"], "pay_method": "cash",
            "items": [{"sku_id": 6, "count": 1}]}  # fmt: skip
    order = httpx.post(f"{base}/api/orders", headers=headers, json=body).json()
    shipped = httpx.post(
        f"{base}/api/admin/orders/{order['order_id']}/ship",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={"carrier": "SF Express", "tracking_no": "SF1234567890"},
    )
    assert shipped.status_code == 200, shipped.text

    page.get_by_test_id("nav-orders").click()
    row = page.get_by_test_id("order-row").filter(has_text="Bamboo Notebook — A5 lined")
    expect(row).to_have_attribute("data-status", "unreceived")
    expect(row.get_by_test_id("order-shipment")).to_contain_text(
        "SF Express, tracking number SF1234567890"
    )
    check_view(page, "shipped-order", keyboard=True)
    row.get_by_test_id("receive-button").click()
    expect(page.get_by_test_id("flash-text")).to_have_text("Thank you! Receipt confirmed.")
    expect(row).to_have_attribute("data-status", "uncomment")

    row.get_by_test_id("comment-link").click()
    form = page.get_by_test_id("comment-form")
    form.get_by_test_id("score-4").check()
    form.get_by_test_id("comment-text").fill("Lies flat, good paper.")
    check_view(page, "review", keyboard=True)
    form.get_by_test_id("comment-submit").click()
    expect(page.get_by_test_id("flash-text")).to_have_text("Thank you for your review!")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "finished")
    expect(page.get_by_test_id("comment-form")).to_have_count(0)

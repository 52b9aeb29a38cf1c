"""The merchant's back office (`/admin/`) in headless Chromium against the whole stack as real
processes (order service, payment service, the Alipay emulator; PostgreSQL and Redis): an admin
made with `create-admin` logs in, lists and filters orders, opens one, ships it from the
keyboard, refunds part of an order paid at the emulator (the money checked at the emulator),
and changes a SKU's stock; a buyer's account is refused in words. A screenshot of each step goes
to test-artifacts/admin-*.png; with UPDATE_SCREENSHOTS=1 the refunded order also goes to
docs/back-office.png (the README's)."""

import asyncio
import os
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.conftest import csp_violations
from tests.e2e.conftest import start_stack
from tests.support.processes import ROOT, run_module
from tests.support.stack import Buyer, Stack, eventually

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
TIMEOUT_MS = 30_000  # a shared 2-core machine: wait for states, generously
ADMIN_PASSWORD = "merchant password"
BULK_ORDERS = 21  # one more than a page

expect.set_options(timeout=TIMEOUT_MS)


class Shop:
    """The running stack with the orders the tests look at, made through the public API."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.admin_name = f"merchant{uuid.uuid4().hex[:6]}"
        self.paid: dict[str, Any] = {}
        self.cash: dict[str, Any] = {}
        self.unpaid: dict[str, Any] = {}
        self.bulk: Buyer | None = None
        self.buyer: Buyer | None = None
        self.zone = "UTC"
        self.bulk_day: date | None = None

    @property
    def admin_url(self) -> str:
        return f"{self.stack.order.url}/admin/"

    async def cash_order(self, buyer: Buyer, sku_id: int, count: int = 1) -> dict:
        response = await self.stack.http.post(
            f"{self.stack.order.url}/api/orders",
            headers=buyer.headers,
            json={
                "address_id": buyer.address_id,
                "pay_method": "cash",
                "items": [{"sku_id": sku_id, "count": count}],
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def prepare(self) -> "Shop":
        stack = self.stack
        env = {**stack.env, "ORDER_ADMIN_PASSWORD": ADMIN_PASSWORD}
        await asyncio.to_thread(
            run_module, "order_service", "create-admin", self.admin_name, env=env
        )

        item1, item2, item3 = [await stack.sku_by_name(f"e2e item {n}") for n in (1, 2, 3)]
        self.buyer = await stack.new_buyer()
        # Paid at the emulator: 2 × 100.00 + 10.00 freight.
        self.paid = await stack.place_order(self.buyer, [{"sku_id": item3["id"], "count": 2}])
        pay_url = await stack.pay_url(self.buyer, self.paid["order_id"])
        await stack.buyer_pays(pay_url, self.paid["order_id"])
        await stack.wait_order_status(self.buyer, self.paid["order_id"], "unsent", within=60)
        self.unpaid = await stack.place_order(self.buyer, [{"sku_id": item1["id"], "count": 1}])
        self.cash = await self.cash_order(await stack.new_buyer(), item2["id"])
        self.bulk = await stack.new_buyer()
        bulk = [await self.cash_order(self.bulk, item1["id"]) for _ in range(BULK_ORDERS)]
        self.zone, self.bulk_day = merchant_zone(bulk[0]["created_at"], bulk[-1]["created_at"])
        return self


def merchant_zone(first: str, last: str) -> tuple[str, date]:
    """A time zone (for the browser) whose day holds both instants and is another day than
    UTC's: the date filters must then be the merchant's days, or they find nothing."""
    instants = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (first, last)]
    for hours in [*range(-14, 0), *range(1, 13)]:
        zone = f"Etc/GMT{hours:+d}"  # POSIX sign: Etc/GMT-14 is UTC+14
        days = {t.astimezone(ZoneInfo(zone)).date() for t in instants}
        if len(days) == 1 and days.isdisjoint({t.date() for t in instants}):
            return zone, days.pop()
    raise AssertionError(f"no zone puts {first} and {last} on one day other than UTC's")


@pytest.fixture(scope="module")
async def shop(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    try:
        yield await Shop(running).prepare()
    finally:
        await running.close()


@pytest.fixture(scope="module")
async def browser() -> Browser:
    assert await asyncio.to_thread(Path(CHROMIUM).exists), (
        "Debian's chromium is missing: run scripts/ensure-chromium.sh"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, shop: Shop) -> Page:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US", timezone_id=shop.zone
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.extend(csp_violations(message)))
    yield page
    await context.close()
    assert errors == [], f"the page threw or broke its Content-Security-Policy: {errors}"


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


async def expect_no_leaked_values(page: Page) -> None:
    """Nothing of the program's insides shows through as text."""
    for leaked in ("null", "undefined", "NaN", "[object Object]", '{"'):
        await expect(page.get_by_test_id("main")).not_to_contain_text(leaked)


async def expect_every_control_labelled(page: Page) -> None:
    """Every input, select and button on the page has a name a screen reader reads out, and can
    be reached with the keyboard (no negative tabindex)."""
    nameless = await page.evaluate(
        """() => [...document.querySelectorAll("main input, main select, main button")]
            .filter((el) => !(el.labels?.length || el.getAttribute("aria-label")
              || (el.tagName === "BUTTON" && el.textContent.trim()))
              || el.tabIndex < 0)
            .map((el) => el.outerHTML)"""
    )
    assert nameless == [], nameless


async def log_in(page: Page, shop: Shop, username: str, password: str) -> None:
    await page.goto(shop.admin_url.rstrip("/"))  # served at /admin/; /admin redirects there
    await expect(page).to_have_url(shop.admin_url + "#/login")
    await expect(page.get_by_test_id("login-form")).to_be_visible()
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()


async def log_in_as_admin(page: Page, shop: Shop) -> None:
    await log_in(page, shop, shop.admin_name, ADMIN_PASSWORD)
    await expect(page.get_by_test_id("orders-page")).to_be_visible()
    await expect(page.get_by_test_id("nav-user")).to_have_text(shop.admin_name)
    await expect(page.get_by_test_id("order-row").first).to_be_visible()


def row_of(page: Page, order_id: str):
    return page.locator(f'[data-testid="order-row"][data-order-id="{order_id}"]')


async def test_a_buyers_account_is_refused_in_words(page: Page, shop: Shop):
    assert shop.buyer is not None
    await log_in(page, shop, shop.buyer.username, shop.buyer.password)
    flash = page.get_by_test_id("flash")
    await expect(flash).to_contain_text("Refused (403)")
    await expect(flash).to_contain_text("not one of the shop's admins")
    await expect(flash).to_contain_text("Only the shop's admins may use the back office.")
    await expect(page.get_by_test_id("login-form")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('shop.admin.token')") is None
    await screenshot(page, "1-buyer-refused-at-log-in")

    # A buyer's token that reached the page anyway: the order list refuses it, in words.
    await page.evaluate(
        "([token, name]) => { localStorage.setItem('shop.admin.token', token);"
        " localStorage.setItem('shop.admin.username', name); }",
        [shop.buyer.token, shop.buyer.username],
    )
    await page.goto(shop.admin_url + "#/orders")
    refusal = page.get_by_test_id("load-error")
    await expect(refusal).to_contain_text("Refused (403): this account is not one of the shop's")
    await expect(refusal).to_have_attribute("data-code", "forbidden")
    await expect(page.get_by_test_id("order-row")).to_have_count(0)
    await screenshot(page, "2-buyer-token-refused")


async def test_an_admin_lists_and_filters_orders(page: Page, shop: Shop):
    assert shop.bulk is not None
    await log_in_as_admin(page, shop)
    await expect(page.get_by_test_id("flash")).to_have_text(f"Welcome, {shop.admin_name}.")
    # Newest first: the bulk buyer's orders fill the first page.
    await expect(page.get_by_test_id("order-row")).to_have_count(20)
    await expect(page.get_by_test_id("order-count")).to_have_text(f"{BULK_ORDERS + 3} orders")
    await expect(page.get_by_test_id("page-number")).to_have_text("Page 1 of 2")
    await expect_no_leaked_values(page)
    await expect_every_control_labelled(page)
    await screenshot(page, "3-orders")

    # Status: only orders awaiting shipment; the unpaid one is not among them. The search is
    # held at the network until its loading state has been seen.
    release = asyncio.Event()

    async def held(route):
        await release.wait()
        await route.continue_()

    await page.route("**/api/admin/orders?*", held)
    await page.get_by_test_id("filter-status").select_option("unsent")
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("loading")).to_have_text("Loading orders…")
    await expect(page.get_by_test_id("order-results")).to_have_attribute("aria-busy", "true")
    release.set()
    await expect(page.get_by_test_id("loading")).to_have_count(0)
    await page.unroute("**/api/admin/orders?*", held)
    await expect(page).to_have_url(f"{shop.admin_url}#/orders?status=unsent")
    await expect(page.get_by_test_id("order-count")).to_have_text(f"{BULK_ORDERS + 2} orders match")
    for status in await page.get_by_test_id("order-row").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    ):
        assert status == "unsent"
    await page.get_by_test_id("page-next").click()
    await expect(page.get_by_test_id("page-number")).to_have_text("Page 2 of 2")
    await expect(page.get_by_test_id("order-row")).to_have_count(3)
    await expect(row_of(page, shop.paid["order_id"])).to_be_visible()
    await expect(row_of(page, shop.cash["order_id"])).to_be_visible()
    await expect(row_of(page, shop.unpaid["order_id"])).to_have_count(0)

    await page.get_by_test_id("filter-status").select_option("unpaid")
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("order-count")).to_have_text("1 order match")
    await expect(row_of(page, shop.unpaid["order_id"])).to_have_attribute("data-status", "unpaid")
    await expect(row_of(page, shop.unpaid["order_id"])).to_contain_text("Awaiting payment")

    # A username prefix, with the merchant's days (not UTC's): that day has them all, the next none.
    assert shop.bulk_day is not None
    today = shop.bulk_day
    await page.get_by_test_id("filter-clear").click()
    await expect(page.get_by_test_id("filter-status")).to_have_value("")
    await page.get_by_test_id("filter-q").fill(shop.bulk.username[:-2])
    await page.get_by_test_id("filter-from").fill(today.isoformat())
    await page.get_by_test_id("filter-to").fill(today.isoformat())
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("order-count")).to_have_text(f"{BULK_ORDERS} orders match")
    buyers = await page.get_by_test_id("order-buyer").all_inner_texts()
    assert set(buyers) == {shop.bulk.username}
    await screenshot(page, "4-orders-filtered")

    await page.get_by_test_id("filter-from").fill((today + timedelta(days=1)).isoformat())
    await page.get_by_test_id("filter-to").fill((today + timedelta(days=1)).isoformat())
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("orders-empty")).to_have_text("No orders match these filters.")

    # An order id prefix finds that order alone; its link opens it.
    await page.get_by_test_id("filter-clear").click()
    # the cleared form is a new render: what is typed before it replaces the old one is lost
    await expect(page.get_by_test_id("filter-q")).to_have_value("")
    await page.get_by_test_id("filter-q").fill(shop.unpaid["order_id"])
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("order-row")).to_have_count(1)
    await row_of(page, shop.unpaid["order_id"]).get_by_test_id("order-link").click()
    await expect(page.get_by_test_id("order-id")).to_have_text(shop.unpaid["order_id"])
    await expect(page.get_by_test_id("not-shippable")).to_contain_text("Not paid yet")
    await expect(page.get_by_test_id("refund-form")).to_have_count(0)
    await page.go_back()
    await expect(page.get_by_test_id("filter-q")).to_have_value(shop.unpaid["order_id"])


async def test_an_admin_ships_an_order_from_the_keyboard(page: Page, shop: Shop):
    order_id = shop.cash["order_id"]
    await log_in_as_admin(page, shop)
    await page.get_by_test_id("filter-q").fill(order_id)
    await page.keyboard.press("Enter")
    await row_of(page, order_id).get_by_test_id("order-link").click()
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unsent")
    await expect(page.get_by_test_id("order-total")).to_have_text("¥13.99")  # 3.99 + 10.00
    await expect(page.get_by_test_id("order-address")).to_contain_text("Li Lei")
    await expect_no_leaked_values(page)
    await expect(page.get_by_test_id("refund-form")).to_have_count(0)  # paid in cash
    await expect_every_control_labelled(page)
    await screenshot(page, "5-order-awaiting-shipment")

    # A tracking number the shop refuses: the reason in words, nothing shipped.
    await page.get_by_test_id("ship-carrier").fill("SF Express")
    await page.get_by_test_id("ship-tracking").fill("SF 123")
    await page.get_by_test_id("ship-submit").click()
    await expect(page.get_by_test_id("flash")).to_have_text(
        "Please check the tracking number (letters, digits and dashes)."
    )
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unsent")

    # From the keyboard alone: type, Tab, type, Enter.
    await page.get_by_test_id("ship-carrier").fill("")
    await page.get_by_test_id("ship-tracking").fill("")
    await page.get_by_test_id("ship-carrier").focus()
    await page.keyboard.type("SF Express")
    await page.keyboard.press("Tab")
    await page.keyboard.type("SF1234567890")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("flash")).to_have_text(
        "Shipped with SF Express, tracking number SF1234567890."
    )
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unreceived")
    await expect(page.get_by_test_id("shipment-tracking")).to_have_text("SF1234567890")
    await expect(page.get_by_test_id("ship-form")).to_have_count(0)
    await screenshot(page, "6-order-shipped")

    answer = await shop.stack.http.get(
        f"{shop.stack.order.url}/api/admin/orders/{order_id}",
        headers={"Authorization": f"Bearer {await admin_token(shop)}"},
    )
    assert answer.json()["status"] == "unreceived", answer.text
    assert answer.json()["shipment"]["carrier"] == "SF Express"


async def admin_token(shop: Shop) -> str:
    response = await shop.stack.http.post(
        f"{shop.stack.order.url}/api/auth/token",
        data={"username": shop.admin_name, "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_an_admin_refunds_part_of_a_paid_order(page: Page, shop: Shop):
    assert shop.buyer is not None
    stack, order_id = shop.stack, shop.paid["order_id"]
    await log_in_as_admin(page, shop)
    await page.goto(f"{shop.admin_url}#/orders/{order_id}")
    await expect(page.get_by_test_id("order-total")).to_have_text("¥210.00")
    await expect(page.get_by_test_id("refunds-empty")).to_be_visible()
    await expect(page.get_by_test_id("refund-left")).to_have_text(
        "Up to ¥210.00 can still be refunded."
    )

    await page.get_by_test_id("refund-amount-input").fill("30")
    await page.get_by_test_id("refund-reason").fill("Box arrived dented")
    await page.get_by_test_id("refund-submit").click()
    await expect(page.get_by_test_id("flash")).to_have_text(
        "Refunded ¥30.00 to the buyer's Alipay account."
    )
    refund_row = page.get_by_test_id("refund-row")
    await expect(refund_row).to_have_count(1)
    await expect(refund_row).to_have_attribute("data-status", "succeeded")
    await expect(refund_row.get_by_test_id("refund-amount")).to_have_text("¥30.00")
    await expect(page.get_by_test_id("refund-left")).to_have_text(
        "Up to ¥180.00 can still be refunded."
    )
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "unsent")

    # The money moved at Alipay, and the refund reached the order through the outbox.
    trade = (await stack.emulator_trade(order_id)).json()
    assert trade["refund_fee"] == "30.00", trade

    async def refunded_in_order():
        order = await stack.get_order(shop.buyer, order_id)
        return order if order["refunded_amount"] == "30.00" else None

    order = await eventually(refunded_in_order, 30, "the refund to reach the order")
    assert order["status"] == "unsent"
    await page.reload()
    await expect(page.get_by_test_id("order-refunded")).to_have_text("¥30.00")

    await expect_no_leaked_values(page)
    await expect_every_control_labelled(page)
    await screenshot(page, "7-order-partly-refunded")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's, as for the storefront's
        await page.screenshot(path=str(ROOT / "docs" / "back-office.png"), full_page=True)

    # More than is left: refused in words, nothing more refunded.
    await page.get_by_test_id("refund-amount-input").fill("200.00")
    await page.get_by_test_id("refund-reason").fill("Too much")
    await page.get_by_test_id("refund-submit").click()
    flash = page.get_by_test_id("flash")
    await expect(flash).to_contain_text("That is more than is left to refund.")
    await expect(flash).to_contain_text("30.00 of 210.00 is refunded already.")
    await expect(page.get_by_test_id("refund-row")).to_have_count(1)
    assert (await stack.emulator_trade(order_id)).json()["refund_fee"] == "30.00"
    await screenshot(page, "8-refund-refused")


async def test_an_admin_changes_a_skus_stock(page: Page, shop: Shop):
    stack = shop.stack
    sku = await stack.sku_by_name("e2e item 5")
    await log_in_as_admin(page, shop)
    await page.get_by_test_id("nav-stock").click()
    row = page.locator(f'[data-testid="sku-row"][data-sku-id="{sku["id"]}"]')
    await expect(row.get_by_test_id("sku-stock")).to_have_text(str(sku["stock"]))
    await expect(row.get_by_label("Change the stock of e2e item 5 by")).to_be_visible()
    await expect_every_control_labelled(page)

    await row.get_by_test_id("stock-delta").fill("7")
    await row.get_by_test_id("stock-apply").click()
    await expect(page.get_by_test_id("flash")).to_have_text(
        f"The stock of “e2e item 5” is now {sku['stock'] + 7} (+7)."
    )
    await expect(row.get_by_test_id("sku-stock")).to_have_text(str(sku["stock"] + 7))
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"] + 7
    await screenshot(page, "9-stock-adjusted")

    await row.get_by_test_id("stock-delta").fill("-1000")
    await row.get_by_test_id("stock-delta").press("Enter")
    await expect(page.get_by_test_id("flash")).to_have_text(
        f"That would take the stock of “e2e item 5” below zero: {sku['stock'] + 7} in stock."
    )
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"] + 7
    await screenshot(page, "10-stock-refused")


async def test_an_expired_admin_session_asks_to_log_in_again(page: Page, shop: Shop):
    order_id = shop.paid["order_id"]
    await log_in_as_admin(page, shop)
    await page.evaluate("localStorage.setItem('shop.admin.token', 'expired.or.forged')")
    await page.goto(f"{shop.admin_url}#/orders/{order_id}")
    await expect(page.get_by_test_id("flash")).to_have_text(
        "Your session expired, please log in again."
    )
    await expect(page.get_by_test_id("login-form")).to_be_visible()
    await page.get_by_test_id("login-username").fill(shop.admin_name)
    await page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("order-id")).to_have_text(order_id)  # back where it ended

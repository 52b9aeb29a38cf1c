"""What every storefront test does as a shopper, and what it checks on every view: no sideways
scrolling on a phone, an axe-core audit with no serious or critical violation, every control
reachable with the Tab key, and a screenshot kept under test-artifacts/."""

import os
import re
import shutil
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.quick_stack import QuickStack
from tests.support.data import ADDRESS
from tests.support.processes import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "storefront"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# The README shows these two; UPDATE_SCREENSHOTS=1 copies them into docs/.
DOC_SHOTS = {"phone-catalog": "storefront-phone.png", "desktop-catalog": "storefront-desktop.png"}
FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])"


def check_view(page: Page, name: str, keyboard: bool = False) -> None:
    """The checks every view gets, then its screenshot."""
    page.wait_for_load_state("load")
    expect(page.locator("#main[aria-busy]")).to_have_count(0)
    expect(page.get_by_test_id("loading")).to_have_count(0)
    expect_no_leaked_values(page)
    if page.device == "phone":
        assert_no_sideways_scroll(page, name)
    audit(page, name)
    if keyboard:
        assert_keyboard_reaches_every_control(page, name)
    shoot(page, name)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = f"{page.device}-{name}"
    path = ARTIFACTS / f"{shot}.png"
    page.evaluate("() => document.activeElement?.blur()")
    page.screenshot(path=str(path), full_page=page.device == "phone")
    if shot in DOC_SHOTS and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(ROOT / "docs" / DOC_SHOTS[shot]))


def expect_no_leaked_values(page: Page) -> None:
    """Nothing of the program's insides shows through as text."""
    for leaked in ("null", "undefined", "NaN", "[object Object]", '{"', "status."):
        expect(page.get_by_test_id("main")).not_to_contain_text(leaked)


def assert_no_sideways_scroll(page: Page, name: str) -> None:
    overflow = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter((el) => el.getClientRects().length && !el.closest('.visually-hidden'))
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className} `
              + `${Math.round(el.getBoundingClientRect().right)}px`);
          return { scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5) };
        }"""
    )
    assert overflow["scroll"] <= overflow["width"] and not overflow["wide"], (name, overflow)


def audit(page: Page, name: str) -> None:
    assert AXE.exists(), "axe-core is missing: run scripts/ensure-axe.sh"
    if not page.evaluate("() => Boolean(window.axe)"):
        # evaluated, not added as a <script>: the storefront's policy refuses inline scripts
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations)"
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe on {page.device} {name}:\n" + "\n".join(bad)


def assert_keyboard_reaches_every_control(page: Page, name: str) -> None:
    """Tab from the top of the page visits every visible, enabled control."""
    controls = page.evaluate(
        """(selector) => {
          let n = 0;
          for (const el of document.querySelectorAll(selector)) {
            const visible = el.getClientRects().length
              && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[hidden]');
            if (visible && !el.disabled) el.dataset.tabCheck = String(n++);
            else delete el.dataset.tabCheck;
          }
          // radio groups take one Tab stop: the checked one stands for the group
          for (const radio of document.querySelectorAll('input[type=radio][data-tab-check]')) {
            const group = document.querySelectorAll(`input[type=radio][name="${radio.name}"]`);
            const stop = [...group].find((r) => r.checked) || group[0];
            if (radio !== stop) delete radio.dataset.tabCheck;
          }
          document.activeElement?.blur();
          const marked = document.querySelectorAll('[data-tab-check]');
          return [...marked].map((el) => el.dataset.tabCheck);
        }""",
        FOCUSABLE,
    )
    reached = set()
    page.evaluate("() => window.scrollTo(0, 0)")
    for _ in range(len(controls) + 5):
        page.keyboard.press("Tab")
        mark = page.evaluate("() => document.activeElement?.dataset?.tabCheck ?? null")
        if mark is not None:
            reached.add(mark)
    missed = sorted(set(controls) - reached, key=int)
    described = page.evaluate(
        """(marks) => marks.map(
          (m) => document.querySelector(`[data-tab-check="${m}"]`).outerHTML.slice(0, 120))""",
        missed,
    )
    assert not missed, f"not reached with Tab on {name}: {described}"


def register(page: Page, stack: QuickStack) -> str:
    username = f"buyer-{uuid.uuid4().hex[:8]}"
    page.goto(stack.storefront + "#/login")
    page.get_by_test_id("register-username").fill(username)
    page.get_by_test_id("register-password").fill("correct horse battery")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("nav-user")).to_have_text(username)
    expect(page.get_by_test_id("flash")).to_contain_text(f"Welcome, {username}")
    return username


def open_goods(page: Page, stack: QuickStack, goods_name: str) -> None:
    page.goto(stack.storefront + "#/?q=" + goods_name.replace(" ", "+"))
    page.get_by_test_id("goods-card").filter(has_text=goods_name).get_by_test_id(
        "goods-link"
    ).click()
    expect(page.get_by_test_id("goods-title")).to_have_text(goods_name)


def add_to_cart(page: Page, stack: QuickStack, goods_name: str, sku_name: str, count=1) -> None:
    open_goods(page, stack, goods_name)
    page.get_by_test_id("variant").filter(has_text=sku_name).locator("input").check()
    page.get_by_test_id("goods-quantity").fill(str(count))
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("flash")).to_contain_text(f"Added “{sku_name}” to your cart")


def cart_item(page: Page, name: str):
    return page.get_by_test_id("cart-item").filter(
        has=page.get_by_test_id("cart-item-name").get_by_text(name, exact=True)
    )


def add_address(page: Page) -> None:
    form = page.get_by_test_id("address-form")
    expect(form).to_be_visible()
    for field, value in ADDRESS.items():
        form.get_by_test_id(f"address-{field}").fill(value)
    form.get_by_test_id("address-save").click()
    expect(page.get_by_test_id("address-option").filter(has_text="Li Lei")).to_be_visible()
    expect(page.get_by_test_id("address-option").locator("input")).to_be_checked()


def to_cashier(page: Page, stack: QuickStack, amount: str) -> None:
    """From the checkout page: pay with Alipay; ends on the emulator's cashier for `amount`."""
    expect(page.get_by_test_id("pay-alipay")).to_be_checked()
    place = page.get_by_test_id("place-order")
    expect(place).to_have_text(f"Pay ¥{amount} with Alipay")
    place.click()
    page.wait_for_url(re.compile(re.escape(stack.url("sandbox")) + ".*"))
    expect(page.locator("#amount")).to_have_text(amount)


def sku_stock(stack: QuickStack, sku_id: int) -> int:
    return httpx.get(f"{stack.url('order')}/api/skus/{sku_id}", timeout=10).json()["stock"]


def keep_doc_screenshots() -> None:
    """Copy the two README screenshots from test-artifacts/ (for UPDATE_SCREENSHOTS)."""
    for shot, doc in DOC_SHOTS.items():
        source = ARTIFACTS / f"{shot}.png"
        if source.exists():
            shutil.copyfile(source, ROOT / "docs" / doc)

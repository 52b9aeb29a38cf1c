// The cart: change counts, select what to order, remove items; the full amount, freight
// included, before checkout. Each item is a card (a row on wide screens).

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatCents, formatMoney, toCents } from "../money.js";
import { skuNames } from "../state.js";

export function selectedTotal(items) {
  return items.filter((i) => i.selected).reduce((sum, i) => sum + toCents(i.price) * i.count, 0);
}

/** Items, freight and total, as a definition list. */
export function amounts(itemsCents, freight, testPrefix) {
  return h("dl", { class: "amounts", testid: `${testPrefix}-amounts` },
    h("div", {}, h("dt", {}, t("cart.items")), h("dd", { testid: `${testPrefix}-items-total` }, formatCents(itemsCents))),
    h("div", {}, h("dt", {}, t("cart.freight")), h("dd", { testid: `${testPrefix}-freight` }, formatMoney(freight))),
    h("div", { class: "grand" }, h("dt", {}, t("cart.total")),
      h("dd", { testid: `${testPrefix}-total` }, formatCents(itemsCents + toCents(freight)))));
}

export async function cartView(context) {
  const section = h("section", { testid: "cart-page" });

  async function change(action) {
    try {
      await action();
    } catch (error) {
      await context.showError(error);
    }
    await draw();
    context.refreshNav();
  }

  function card(item) {
    const setCount = (count) =>
      change(() => (count > 0 ? api.putCartItem(item.sku_id, count, item.selected) : api.removeCartItem(item.sku_id)));
    const inputId = `count-${item.sku_id}`;
    const countInput = h("input", {
      type: "number", min: "1", value: String(item.count), id: inputId, inputmode: "numeric",
      testid: "cart-item-count", "aria-label": t("cart.quantityOf", { name: item.name }),
    });
    countInput.addEventListener("change", () => setCount(Math.max(0, Number.parseInt(countInput.value, 10) || 0)));
    const selectBox = h("input", {
      type: "checkbox", checked: item.selected, testid: "cart-item-select", "aria-label": t("cart.select", { name: item.name }),
    });
    selectBox.addEventListener("change", () => change(() => api.putCartItem(item.sku_id, item.count, selectBox.checked)));

    return h("li", { class: "cart-card", testid: "cart-item", data: { skuId: item.sku_id } },
      h("span", { class: "cart-select" }, selectBox),
      h("span", { class: "cart-name" },
        h("strong", { testid: "cart-item-name" }, item.name),
        h("span", { class: "muted small" }, t("cart.price", { price: formatMoney(item.price) }))),
      h("span", { class: "stepper" },
        h("button", { type: "button", testid: "cart-item-decrease", "aria-label": t("goods.fewer"),
          onclick: () => setCount(item.count - 1) }, "−"),
        countInput,
        h("button", { type: "button", testid: "cart-item-increase", "aria-label": t("goods.more"),
          onclick: () => setCount(item.count + 1) }, "+")),
      h("span", { class: "cart-subtotal", testid: "cart-item-subtotal" }, formatCents(toCents(item.price) * item.count)),
      h("button", { type: "button", class: "link", testid: "cart-item-remove", "aria-label": t("cart.removeLabel", { name: item.name }),
        onclick: () => change(() => api.removeCartItem(item.sku_id)) }, t("cart.remove")));
  }

  async function draw() {
    const cart = await api.getCart();
    cart.items.forEach((item) => skuNames.set(item.sku_id, item.name));
    if (!cart.items.length) {
      section.replaceChildren(h("h1", {}, t("cart.title")),
        h("p", { class: "muted", testid: "cart-empty" }, t("cart.empty"), " ", h("a", { href: "#/" }, t("cart.browse"))));
      return;
    }
    const anySelected = cart.items.some((item) => item.selected);
    section.replaceChildren(
      h("h1", {}, t("cart.title")),
      h("div", { class: "cart-layout" },
        h("ul", { class: "cart-list", testid: "cart-list" }, cart.items.map(card)),
        h("aside", { class: "card summary", testid: "cart-summary" },
          amounts(selectedTotal(cart.items), cart.freight, "cart"),
          anySelected ? null : h("p", { class: "muted small" }, t("cart.nothingSelected")),
          h("button", { type: "button", class: "primary wide", testid: "checkout-button", disabled: !anySelected,
            onclick: () => context.navigate("#/checkout") }, t("cart.checkout")))),
    );
  }

  await draw();
  return section;
}

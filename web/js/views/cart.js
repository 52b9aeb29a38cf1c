// The cart: change counts, select what to order, remove items, go to checkout.

import { api } from "../api.js";
import { h } from "../dom.js";
import { formatCents, formatMoney, toCents } from "../money.js";
import { skuNames } from "../state.js";

function selectedTotal(items) {
  return items.filter((i) => i.selected).reduce((sum, i) => sum + toCents(i.price) * i.count, 0);
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

  function row(item) {
    const setCount = (count) =>
      change(() => (count > 0 ? api.putCartItem(item.sku_id, count, item.selected) : api.removeCartItem(item.sku_id)));
    const countInput = h("input", {
      type: "number", min: "1", value: String(item.count), testid: "cart-item-count",
      "aria-label": `Quantity of ${item.name}`,
    });
    countInput.addEventListener("change", () => setCount(Math.max(0, Number.parseInt(countInput.value, 10) || 0)));
    const selectBox = h("input", {
      type: "checkbox", checked: item.selected, testid: "cart-item-select", "aria-label": `Order ${item.name}`,
    });
    selectBox.addEventListener("change", () =>
      change(() => api.putCartItem(item.sku_id, item.count, selectBox.checked)));

    return h(
      "tr",
      { testid: "cart-item", data: { skuId: item.sku_id } },
      h("td", {}, selectBox),
      h("td", { testid: "cart-item-name" }, item.name),
      h("td", {}, formatMoney(item.price)),
      h("td", { class: "qty" },
        h("button", { type: "button", testid: "cart-item-decrease", "aria-label": "One less",
          onclick: () => setCount(item.count - 1) }, "−"),
        countInput,
        h("button", { type: "button", testid: "cart-item-increase", "aria-label": "One more",
          onclick: () => setCount(item.count + 1) }, "+")),
      h("td", {}, formatCents(toCents(item.price) * item.count)),
      h("td", {}, h("button", { type: "button", class: "link", testid: "cart-item-remove",
        onclick: () => change(() => api.removeCartItem(item.sku_id)) }, "Remove")),
    );
  }

  async function draw() {
    const cart = await api.getCart();
    cart.items.forEach((item) => skuNames.set(item.sku_id, item.name));
    if (!cart.items.length) {
      section.replaceChildren(h("h1", {}, "Your cart"),
        h("p", { class: "muted", testid: "cart-empty" }, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the catalog")));
      return;
    }
    const anySelected = cart.items.some((item) => item.selected);
    section.replaceChildren(
      h("h1", {}, "Your cart"),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["", "Item", "Price", "Quantity", "Subtotal", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, cart.items.map(row))),
      h("div", { class: "summary" },
        h("p", {}, "Selected: ", h("strong", { testid: "cart-total" }, formatCents(selectedTotal(cart.items))),
          h("span", { class: "muted" }, " plus freight")),
        h("button", { type: "button", class: "primary", testid: "checkout-button", disabled: !anySelected,
          onclick: () => context.navigate("#/checkout") }, "Check out")),
    );
  }

  await draw();
  return section;
}

// The catalog: every SKU with its price, stock and sales, a page at a time.

import { api } from "../api.js";
import { h, whileBusy } from "../dom.js";
import { formatMoney } from "../money.js";
import { flashNext, rememberReturnTo, session, skuNames } from "../state.js";

const PAGE_SIZE = 12;

async function addToCart(sku, context) {
  if (!session.token) {
    rememberReturnTo("#/");
    flashNext("Please log in to add items to your cart.");
    context.navigate("#/login");
    return;
  }
  try {
    const cart = await api.getCart();
    const inCart = cart.items.find((item) => item.sku_id === sku.id);
    await api.putCartItem(sku.id, (inCart?.count || 0) + 1, true);
    context.showFlash(`Added “${sku.name}” to your cart.`, "success");
    context.refreshNav();
  } catch (error) {
    await context.showError(error);
  }
}

function skuCard(sku, context) {
  const soldOut = sku.stock <= 0;
  const button = h(
    "button",
    { type: "button", class: "primary", testid: "add-to-cart", disabled: soldOut },
    soldOut ? "Sold out" : "Add to cart",
  );
  button.addEventListener("click", () => whileBusy(button, () => addToCart(sku, context)));
  return h(
    "article",
    { class: "card sku", testid: "sku-card", data: { skuId: sku.id } },
    h("h3", { testid: "sku-name" }, sku.name),
    h("p", { class: "price", testid: "sku-price" }, formatMoney(sku.price)),
    h("p", { class: "muted" },
      h("span", { testid: "sku-stock" }, soldOut ? "Out of stock" : `${sku.stock} in stock`),
      ` · ${sku.sales} sold`),
    button,
  );
}

function pager(offset, total, reload) {
  if (total <= PAGE_SIZE) return null;
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = Math.ceil(total / PAGE_SIZE);
  return h(
    "nav",
    { class: "pager", "aria-label": "Catalog pages" },
    h("button", { type: "button", disabled: offset === 0, onclick: () => reload(offset - PAGE_SIZE) }, "← Previous"),
    h("span", {}, `Page ${page} of ${pages}`),
    h("button", { type: "button", disabled: page >= pages, onclick: () => reload(offset + PAGE_SIZE) }, "Next →"),
  );
}

export async function catalogView(context) {
  const section = h("section", { testid: "catalog-page" });

  async function load(offset) {
    const page = await api.listSkus(offset, PAGE_SIZE);
    page.items.forEach((sku) => skuNames.set(sku.id, sku.name));
    const grid = page.items.length
      ? h("div", { class: "grid", testid: "catalog" }, page.items.map((sku) => skuCard(sku, context)))
      : h("p", { class: "muted" }, "The catalog is empty.");
    section.replaceChildren(h("h1", {}, "Catalog"), grid);
    const pages = pager(offset, page.total, reloadSafely);
    if (pages) section.append(pages);
  }

  async function reloadSafely(offset) {
    try {
      await load(offset);
    } catch (error) {
      await context.showError(error);
    }
  }

  await load(0);
  return section;
}

// The shop's front: goods with their picture, lowest price and sales, a search box over names,
// a page at a time. The search words and the page live in the address (#/?q=…&page=…).

import { api } from "../api.js";
import { fillWhileLoading, h, picture } from "../dom.js";
import { t } from "../i18n.js";
import { formatMoney } from "../money.js";
import { catalogPlace, skuNames } from "../state.js";

const PAGE_SIZE = 12;

function catalogHash(q, page) {
  const query = new URLSearchParams();
  if (q) query.set("q", q);
  if (page > 1) query.set("page", String(page));
  const text = query.toString();
  return text ? `#/?${text}` : "#/";
}

function goodsCard(goods) {
  const inStock = goods.skus.some((sku) => sku.stock > 0);
  return h("li", { class: "goods-card", testid: "goods-card", data: { goodsId: goods.id } },
    h("a", { href: `#/goods/${goods.id}`, class: "goods-link", testid: "goods-link" },
      picture(goods),
      h("span", { class: "goods-text" },
        h("span", { class: "goods-name", testid: "goods-name" }, goods.name),
        h("span", { class: "price", testid: "goods-price" }, t("catalog.from", { price: formatMoney(goods.min_price) })),
        h("span", { class: "muted small" },
          t("catalog.sold", { count: goods.sales }),
          goods.skus.length > 1 ? ` · ${t("catalog.variants", { count: goods.skus.length })}` : "",
          inStock ? "" : ` · ${t("goods.soldOut")}`))));
}

function pager(page, pages, q, navigate) {
  if (pages <= 1) return null;
  return h("nav", { class: "pager", "aria-label": t("catalog.pages"), testid: "pager" },
    h("button", { type: "button", testid: "pager-previous", disabled: page <= 1,
      onclick: () => navigate(catalogHash(q, page - 1)) }, t("pager.previous")),
    h("span", { testid: "pager-page" }, t("pager.page", { page, pages })),
    h("button", { type: "button", testid: "pager-next", disabled: page >= pages,
      onclick: () => navigate(catalogHash(q, page + 1)) }, t("pager.next")));
}

export async function catalogView(context) {
  const q = (context.query.get("q") || "").trim();
  const page = Math.max(1, Number.parseInt(context.query.get("page"), 10) || 1);
  catalogPlace.hash = catalogHash(q, page);

  const input = h("input", { type: "search", name: "q", value: q, id: "search-q", testid: "search-input",
    autocomplete: "off", enterkeyhint: "search", maxlength: "100" });
  const search = h("form", { class: "search", role: "search", testid: "search-form" },
    h("label", { for: "search-q", class: "visually-hidden" }, t("catalog.search")),
    input,
    h("button", { type: "submit", class: "primary", testid: "search-submit" }, t("catalog.searchButton")));
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    context.navigate(catalogHash(input.value.trim(), 1));
  });
  input.placeholder = t("catalog.search");

  const results = h("div", { testid: "catalog-results" });
  const section = h("section", { testid: "catalog-page" }, h("h1", {}, t("catalog.title")), search, results);

  await fillWhileLoading(results, async () => {
    const found = await api.listGoods(q, (page - 1) * PAGE_SIZE, PAGE_SIZE);
    found.items.forEach((goods) => goods.skus.forEach((sku) => skuNames.set(sku.id, sku.name)));
    const pages = Math.max(1, Math.ceil(found.total / PAGE_SIZE));
    const parts = [];
    if (q) {
      parts.push(h("p", { class: "muted", testid: "search-summary", role: "status" },
        found.total ? t("catalog.results", { total: found.total, q }) : t("catalog.noResults", { q }),
        " ", h("a", { href: "#/", testid: "search-clear" }, t("catalog.clearSearch"))));
    }
    if (found.items.length) {
      parts.push(h("ul", { class: "goods-grid", testid: "catalog" }, found.items.map(goodsCard)));
    } else if (!q) {
      parts.push(h("p", { class: "muted", testid: "catalog-empty" }, t("catalog.empty")));
    }
    parts.push(pager(page, pages, q, context.navigate));
    return h("div", {}, parts.filter(Boolean));
  }, context.showError);
  return section;
}

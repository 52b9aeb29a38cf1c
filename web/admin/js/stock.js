// Stock: every SKU with its live stock, and a change by a delta (+5 received, −2 damaged). The
// shop applies a delta atomically and never below zero, so it composes with buyers checking out
// at the same moment; the page shows the stock the shop answered with.

import { h, whileBusy } from "../../js/dom.js";
import { formatMoney } from "../../js/money.js";
import { adminApi } from "./api.js";
import { messageFor } from "./messages.js";
import { fill } from "./ui.js";

const PAGE_SIZE = 50;

function stockRow(sku, context) {
  const inputId = `delta-${sku.id}`;
  const stock = h("td", { class: "num", testid: "sku-stock" }, String(sku.stock));
  const delta = h("input", {
    id: inputId, name: "stock_delta", type: "number", step: "1", required: true, testid: "stock-delta",
    inputmode: "numeric", autocomplete: "off",
  });
  const form = h("form", { class: "inline-form", testid: "stock-form" },
    h("label", { for: inputId, class: "visually-hidden" }, `Change the stock of ${sku.name} by`),
    delta,
    h("button", { type: "submit", testid: "stock-apply" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(form.querySelector("button"), async () => {
      const change = Number.parseInt(delta.value, 10);
      if (!Number.isInteger(change) || change === 0) {
        context.showFlash(`Enter a whole number other than 0 to change the stock of “${sku.name}”.`, "error");
        delta.focus();
        return;
      }
      try {
        const updated = await adminApi.adjustStock(sku.id, change);
        stock.textContent = String(updated.stock);
        delta.value = "";
        const signed = change > 0 ? `+${change}` : `−${-change}`;
        context.showFlash(`The stock of “${updated.name}” is now ${updated.stock} (${signed}).`, "success");
      } catch (error) {
        let message = messageFor(error);
        if (error.code === "insufficient_stock") {
          const fresh = await adminApi.getSku(sku.id).catch(() => null);
          if (fresh) {
            stock.textContent = String(fresh.stock);
            message = `That would take the stock of “${sku.name}” below zero: ${fresh.stock} in stock.`;
          }
        }
        context.showFlash(message, "error");
        delta.focus();
      }
    });
  });
  return h("tr", { testid: "sku-row", data: { skuId: String(sku.id) } },
    h("td", {}, String(sku.id)),
    h("td", { testid: "sku-name" }, sku.name),
    h("td", { class: "num" }, formatMoney(sku.price)),
    stock,
    h("td", { class: "num" }, String(sku.sales)),
    h("td", {}, form));
}

export function stockView(context) {
  const region = h("div", { testid: "stock-results" });

  function load(offset) {
    fill(region, "Loading the catalog…", async () => {
      const page = await adminApi.listSkus(offset, PAGE_SIZE);
      if (!page.items.length) return h("p", { class: "muted" }, "The catalog is empty.");
      const pages = Math.ceil(page.total / PAGE_SIZE);
      const number = Math.floor(offset / PAGE_SIZE) + 1;
      return h("div", {},
        h("table", { class: "table", testid: "sku-list" },
          h("caption", { class: "visually-hidden" }, "SKUs and their stock"),
          h("thead", {}, h("tr", {}, ["ID", "SKU", "Price", "In stock", "Sold", "Change by"].map((t, i) =>
            h("th", { scope: "col", class: i >= 2 && i <= 4 ? "num" : null }, t)))),
          h("tbody", {}, page.items.map((sku) => stockRow(sku, context)))),
        pages > 1 ? h("nav", { class: "pager", "aria-label": "Catalog pages" },
          h("button", { type: "button", disabled: number <= 1, onclick: () => load(offset - PAGE_SIZE) }, "← Previous"),
          h("span", {}, `Page ${number} of ${pages}`),
          h("button", { type: "button", disabled: number >= pages, onclick: () => load(offset + PAGE_SIZE) }, "Next →"))
          : null);
    });
  }

  load(0);
  return h("section", { testid: "stock-page" },
    h("h1", {}, "Stock"),
    h("p", { class: "muted" }, "Change a SKU's stock by a number of units: positive adds, negative takes away."),
    region);
}

// Every buyer's orders, newest first, a page at a time, with filters: status, an order id or
// username prefix, and a range of days (the admin's own time zone). The filters live in the
// address (#/orders?status=…), so a reload, the back button or a shared link keep them.

import { formValues, h } from "../../js/dom.js";
import { formatMoney } from "../../js/money.js";
import { adminApi } from "./api.js";
import { STATUS_LABELS, fill, formatTime, statusBadge } from "./ui.js";

export const PAGE_SIZE = 20;
const FILTERS = ["status", "q", "from", "to"];

/** Midnight at the start of a local day ("2026-03-01"), as an instant the API understands. */
function startOfDay(day, plusDays = 0) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(year, month - 1, date + plusDays).toISOString();
}

function apiFilters(filters, offset) {
  return {
    status: filters.status,
    q: filters.q,
    created_from: filters.from ? startOfDay(filters.from) : undefined,
    created_to: filters.to ? startOfDay(filters.to, 1) : undefined, // the last day included
    offset,
    limit: PAGE_SIZE,
  };
}

function hashFor(filters, offset = 0) {
  const pairs = FILTERS.filter((k) => filters[k]).map((k) => [k, filters[k]]);
  if (offset) pairs.push(["offset", String(offset)]);
  return pairs.length ? `#/orders?${new URLSearchParams(pairs)}` : "#/orders";
}

function filterForm(filters, context) {
  const status = h("select", { name: "status", testid: "filter-status" },
    h("option", { value: "" }, "Any status"),
    Object.entries(STATUS_LABELS).map(([value, label]) =>
      h("option", { value, selected: filters.status === value }, label)));
  const form = h("form", { class: "filters card", testid: "order-filters", role: "search", "aria-label": "Filter orders" },
    h("label", {}, "Status", status),
    h("label", {}, "Order id or buyer",
      h("input", { name: "q", type: "search", value: filters.q || "", maxlength: "64", testid: "filter-q",
        placeholder: "id or username prefix" })),
    h("label", {}, "Placed from",
      h("input", { name: "from", type: "date", value: filters.from || "", testid: "filter-from" })),
    h("label", {}, "Placed until",
      h("input", { name: "to", type: "date", value: filters.to || "", testid: "filter-to" })),
    h("div", { class: "buttons" },
      h("button", { type: "submit", class: "primary", testid: "filter-apply" }, "Apply filters"),
      h("button", { type: "button", testid: "filter-clear", onclick: () => context.navigate("#/orders") }, "Clear")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    values.q = values.q.trim();
    context.navigate(hashFor(values));
  });
  return form;
}

function orderRow(order) {
  const href = `#/orders/${encodeURIComponent(order.order_id)}`;
  return h("tr", { testid: "order-row", data: { status: order.status, orderId: order.order_id } },
    h("td", { class: "mono" }, h("a", { href, testid: "order-link" }, order.order_id)),
    h("td", { class: "nowrap" }, formatTime(order.created_at)),
    h("td", { testid: "order-buyer" }, order.username || `user ${order.user_id}`),
    h("td", {}, statusBadge(order.status)),
    h("td", {}, order.pay_method === "alipay" ? "Alipay" : "Cash"),
    h("td", { class: "num" }, String(order.total_count)),
    h("td", { class: "num", testid: "order-total" }, formatMoney(order.total_amount)),
    h("td", { class: "num" }, order.refunded_amount === "0.00" ? "—" : formatMoney(order.refunded_amount)),
  );
}

function pager(filters, offset, total, context) {
  if (total <= PAGE_SIZE) return null;
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = Math.ceil(total / PAGE_SIZE);
  return h("nav", { class: "pager", "aria-label": "Order pages", testid: "pager" },
    h("button", { type: "button", testid: "page-previous", disabled: page <= 1,
      onclick: () => context.navigate(hashFor(filters, Math.max(0, offset - PAGE_SIZE))) }, "← Previous"),
    h("span", { testid: "page-number" }, `Page ${page} of ${pages}`),
    h("button", { type: "button", testid: "page-next", disabled: page >= pages,
      onclick: () => context.navigate(hashFor(filters, offset + PAGE_SIZE)) }, "Next →"));
}

export function ordersView(context) {
  const query = new URLSearchParams(context.params[0] || "");
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || ""]));
  const offset = Math.max(0, Number.parseInt(query.get("offset") || "0", 10) || 0);
  const results = h("div", { testid: "order-results", "aria-live": "polite" });

  fill(results, "Loading orders…", async () => {
    const page = await adminApi.searchOrders(apiFilters(filters, offset));
    const filtered = FILTERS.some((k) => filters[k]);
    const count = `${page.total} ${page.total === 1 ? "order" : "orders"}${filtered ? " match" : ""}`;
    if (!page.items.length) {
      return h("p", { class: "muted", testid: "orders-empty" },
        filtered ? "No orders match these filters." : "No orders yet.");
    }
    return h("div", {},
      h("p", { class: "results-head" }, h("strong", { testid: "order-count" }, count)),
      h("table", { class: "table", testid: "order-list" },
        h("caption", { class: "visually-hidden" }, "Orders, newest first"),
        h("thead", {}, h("tr", {},
          ["Order", "Placed", "Buyer", "Status", "Pay", "Items", "Total", "Refunded"].map((t, i) =>
            h("th", { scope: "col", class: i >= 5 ? "num" : null }, t)))),
        h("tbody", {}, page.items.map(orderRow))),
      pager(filters, offset, page.total, context));
  });

  return h("section", { testid: "orders-page" },
    h("h1", {}, "Orders"),
    filterForm(filters, context),
    results);
}

// My orders (a page at a time, filtered by status) and one order's page. Each order shows its
// shipment and refunds and offers what can be done with it now: pay, cancel, confirm receipt,
// review. Back from Alipay, the order page says what happened (paid, still waiting, left the
// cashier) and follows the order's status until it changes.

import { api } from "../api.js";
import { fillWhileLoading, h, whileBusy } from "../dom.js";
import { formatTime, t } from "../i18n.js";
import { formatCents, formatMoney, toCents } from "../money.js";
import { payWithAlipay } from "./checkout.js";

const PAGE_SIZE = 10;
const STATUSES = ["unpaid", "unsent", "unreceived", "uncomment", "finished", "canceled", "refunded"];
const POLL_FAST_MS = 1000;
const POLL_SLOW_MS = 5000;
const POLL_FAST_FOR_MS = 60_000;

export function statusLabel(order) {
  if (order.status === "unsent") return t(order.pay_method === "cash" ? "status.unsent.cash" : "status.unsent.alipay");
  const key = `status.${order.status}`;
  const label = t(key);
  return label === key ? order.status : label;
}

function statusBadge(order) {
  return h("span", { class: `status status-${order.status}`, testid: "order-status", data: { status: order.status } },
    statusLabel(order));
}

const orderLink = (orderId) => `#/orders/${encodeURIComponent(orderId)}`;
const lineName = (line) => line.name || `#${line.sku_id}`;

function shipmentFacts(order) {
  if (!order.shipment) return null;
  const s = order.shipment;
  return h("p", { class: "shipment", testid: "order-shipment" }, h("strong", {}, `${t("order.shipment")}: `),
    t("order.shipmentLine", { carrier: s.carrier, tracking: s.tracking_no, time: formatTime(s.shipped_at) }));
}

function refundFacts(order) {
  const refunded = order.refunded_amount && toCents(order.refunded_amount) > 0;
  const refunds = Array.isArray(order.refunds) ? order.refunds : [];
  if (!refunded && !refunds.length) return null;
  return h("div", { class: "refunds", testid: "order-refunds" },
    refunded ? h("p", {}, h("strong", {}, `${t("order.refunded")}: `), h("span", { testid: "order-refunded" }, formatMoney(order.refunded_amount))) : null,
    refunds.length ? h("ul", {}, refunds.map((r) => h("li", { testid: "order-refund" },
      t("order.refundLine", { amount: formatMoney(r.amount), reason: r.reason || "", status: t(`refund.${r.status}`) })))) : null);
}

/** The buttons for what can be done with `order` now; `after(order)` redraws with the answer. */
function orderActions(order, context, after) {
  const bar = h("div", { class: "actions", testid: "order-actions" });
  const act = (button, work, message) => whileBusy(button, async () => {
    try {
      const updated = await work();
      if (message) context.showFlash(message, "success");
      await after(updated);
    } catch (error) {
      await context.showError(error);
      try { await after(await api.getOrder(order.order_id)); } catch { /* the message said it */ }
    }
  });
  if (order.status === "unpaid" && order.pay_method === "alipay") {
    const pay = h("button", { type: "button", class: "primary", testid: "pay-button" }, t("order.pay", { amount: formatMoney(order.total_amount) }));
    pay.addEventListener("click", () => whileBusy(pay, async () => {
      try {
        await payWithAlipay(order.order_id);
      } catch (error) {
        await context.showError(error);
      }
    }));
    bar.append(pay);
  }
  if (order.status === "unpaid") {
    const cancel = h("button", { type: "button", testid: "cancel-button" }, t("order.cancel"));
    cancel.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "danger", testid: "cancel-confirm" }, t("order.cancelYes"));
      yes.addEventListener("click", () => act(yes, () => api.cancelOrder(order.order_id), t("order.canceled")));
      bar.replaceChildren(h("span", { role: "alert" }, t("order.cancelAsk")), yes,
        h("button", { type: "button", testid: "cancel-keep", onclick: () => after(order) }, t("order.cancelNo")));
      yes.focus();
    });
    bar.append(cancel);
  }
  if (order.status === "unreceived") {
    const receive = h("button", { type: "button", class: "primary", testid: "receive-button" }, t("order.receive"));
    receive.addEventListener("click", () => act(receive, () => api.receiveOrder(order.order_id), t("order.received")));
    bar.append(receive);
  }
  return bar.childElementCount ? bar : null;
}

function commentForm(order, context, after) {
  const form = h("form", { class: "card comment-form", testid: "comment-form", "aria-labelledby": "comment-title" },
    h("h2", { id: "comment-title" }, t("order.commentTitle")),
    order.items.map((line, index) => h("fieldset", { class: "comment-line", data: { skuId: line.sku_id } },
      h("legend", {}, t("order.score", { name: lineName(line) })),
      h("div", { class: "stars" }, [1, 2, 3, 4, 5].map((score) => h("label", { class: "star" },
        h("input", { type: "radio", name: `score-${index}`, value: String(score), checked: score === 5, testid: `score-${score}` }),
        h("span", {}, t("order.stars", { count: score }))))),
      h("label", {}, t("order.commentText", { name: lineName(line) }),
        h("textarea", { name: `comment-${index}`, rows: "2", maxlength: "500", testid: "comment-text" })))),
    h("button", { type: "submit", class: "primary", testid: "comment-submit" }, t("order.sendComment")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const items = order.items.map((line, index) => ({
      sku_id: line.sku_id, score: Number(values.get(`score-${index}`)), comment: String(values.get(`comment-${index}`) || "").trim(),
    }));
    whileBusy(form.querySelector("button[type=submit]"), async () => {
      try {
        const updated = await api.commentOrder(order.order_id, items);
        context.showFlash(t("order.commented"), "success");
        await after(updated);
      } catch (error) {
        await context.showError(error);
      }
    });
  });
  return form;
}

function orderCard(order, context, reload) {
  const names = order.items.map((line) => `${lineName(line)} × ${line.count}`).join(t("list.and"));
  return h("li", { class: "order-card", testid: "order-row", data: { orderId: order.order_id, status: order.status } },
    h("div", { class: "order-card-head" },
      statusBadge(order),
      h("span", { class: "muted small" }, t("orders.placed", { time: formatTime(order.created_at) }))),
    h("p", { class: "order-lines" }, names),
    h("p", { class: "order-card-total" },
      h("span", { class: "muted small" }, t("orders.count", { count: order.total_count })), " ",
      h("strong", { testid: "order-row-total" }, formatMoney(order.total_amount))),
    shipmentFacts(order),
    refundFacts(order),
    h("div", { class: "order-card-foot" },
      orderActions(order, context, reload),
      order.status === "uncomment"
        ? h("a", { class: "button primary", href: `${orderLink(order.order_id)}`, testid: "comment-link" }, t("order.comment"))
        : null,
      h("a", { href: orderLink(order.order_id), testid: "order-link", "aria-label": t("orders.viewLabel", { id: order.order_id }) },
        t("orders.view"))));
}

export async function ordersView(context) {
  const status = STATUSES.includes(context.query.get("status")) ? context.query.get("status") : "";
  const page = Math.max(1, Number.parseInt(context.query.get("page"), 10) || 1);
  const hashFor = (s, p) => {
    const q = new URLSearchParams();
    if (s) q.set("status", s);
    if (p > 1) q.set("page", String(p));
    return q.toString() ? `#/orders?${q}` : "#/orders";
  };

  const filter = h("select", { id: "order-filter", testid: "order-filter" },
    h("option", { value: "" }, t("orders.all")),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, t(`filter.${s}`))));
  filter.addEventListener("change", () => context.navigate(hashFor(filter.value, 1)));

  const list = h("div", { testid: "order-results" });
  const section = h("section", { testid: "orders-page" },
    h("div", { class: "page-head" }, h("h1", {}, t("orders.title")),
      h("div", { class: "filter" }, h("label", { for: "order-filter" }, t("orders.filter")), filter)),
    list);

  const load = () => fillWhileLoading(list, async () => {
    const found = await api.listOrders(status || undefined, (page - 1) * PAGE_SIZE, PAGE_SIZE);
    if (!found.items.length) {
      return h("p", { class: "muted", testid: "order-list-empty" },
        status ? t("orders.noneOfStatus") : t("orders.none"), " ", h("a", { href: "#/" }, t("orders.startShopping")));
    }
    const pages = Math.max(1, Math.ceil(found.total / PAGE_SIZE));
    return h("div", {},
      h("ul", { class: "order-list", testid: "order-list" }, found.items.map((order) => orderCard(order, context, load))),
      pages > 1 ? h("nav", { class: "pager", "aria-label": t("catalog.pages"), testid: "pager" },
        h("button", { type: "button", testid: "pager-previous", disabled: page <= 1, onclick: () => context.navigate(hashFor(status, page - 1)) }, t("pager.previous")),
        h("span", { testid: "pager-page" }, t("pager.page", { page, pages })),
        h("button", { type: "button", testid: "pager-next", disabled: page >= pages, onclick: () => context.navigate(hashFor(status, page + 1)) }, t("pager.next"))) : null);
  }, context.showError);
  await load();
  return section;
}

export async function orderView(context) {
  const [orderId] = context.params;
  const section = h("section", { class: "order", testid: "order-page", data: { orderId } });
  const notice = h("div", { testid: "payment-notice", role: "status", "aria-live": "polite" });
  const content = h("div");
  section.append(notice, content);
  const returned = context.paymentReturn;

  function draw(order) {
    const itemsTotal = order.items.reduce((sum, line) => sum + toCents(line.price) * line.count, 0);
    content.replaceChildren(
      h("div", { class: "page-head" }, h("h1", {}, t("order.title")), statusBadge(order)),
      h("p", { class: "muted small" }, `${t("order.number")}: `, h("span", { testid: "order-id" }, order.order_id)),
      h("div", { class: "order-layout" },
        h("div", {},
          h("ul", { class: "lines card", testid: "order-items", "aria-label": t("order.items") }, order.items.map((line) =>
            h("li", {}, h("span", {}, lineName(line)),
              h("span", { class: "muted" }, t("order.lineTotal", { count: line.count, price: formatMoney(line.price) }))))),
          shipmentFacts(order),
          refundFacts(order),
          order.status === "uncomment" ? commentForm(order, context, redraw) : null),
        h("aside", { class: "card summary" },
          h("dl", { class: "amounts" },
            h("div", {}, h("dt", {}, t("order.items")), h("dd", {}, formatCents(itemsTotal))),
            h("div", {}, h("dt", {}, t("order.freight")), h("dd", { testid: "order-freight" }, formatMoney(order.freight))),
            h("div", { class: "grand" }, h("dt", {}, t("order.total")), h("dd", { testid: "order-total" }, formatMoney(order.total_amount)))),
          h("dl", { class: "facts" },
            h("dt", {}, t("order.payMethod")), h("dd", {}, order.pay_method === "alipay" ? t("checkout.alipay") : t("checkout.cash")),
            h("dt", {}, t("order.placedAt")), h("dd", {}, formatTime(order.created_at)),
            order.status === "unpaid" && order.pay_deadline ? [h("dt", {}, t("order.payBefore")), h("dd", {}, formatTime(order.pay_deadline))] : null,
            order.paid_at ? [h("dt", {}, t("order.paidAt")), h("dd", {}, formatTime(order.paid_at))] : null),
          orderActions(order, context, redraw),
          h("p", {}, h("a", { href: "#/orders" }, `← ${t("order.all")}`)))),
    );
  }

  async function redraw(order) {
    draw(order);
    if (returned) say(order);
  }

  function say(order) {
    let word;
    let text;
    let kind = "info";
    if (order.status === "canceled") {
      [word, text] = ["canceled", t("return.nowCanceled")];
    } else if (order.status !== "unpaid") {
      [word, text, kind] = ["paid", t("return.paid"), "success"];
    } else if (returned.result === "success") {
      [word, text] = ["waiting", t("return.waiting")];
    } else if (returned.result === "left") {
      [word, text, kind] = ["left", t("return.left", { deadline: formatTime(order.pay_deadline) }), "warning"];
    } else {
      [word, text, kind] = ["unverified", t("return.unverified"), "warning"];
    }
    notice.replaceChildren(h("p", { class: `flash flash-${kind}`, testid: word === "paid" ? "payment-confirmed" : "payment-word", data: { word } }, text));
  }

  /** Back from the cashier: ask for the order until its status changes (or the page is left). */
  async function follow(order) {
    const started = Date.now();
    while (order.status === "unpaid" && context.isCurrent()) {
      const slow = Date.now() - started > POLL_FAST_FOR_MS;
      if (slow && returned.result === "success") {
        notice.replaceChildren(h("p", { class: "flash flash-warning", testid: "payment-word", data: { word: "slow" } }, t("return.slow")));
      }
      await new Promise((resolve) => setTimeout(resolve, slow ? POLL_SLOW_MS : POLL_FAST_MS));
      if (!context.isCurrent()) return;
      try {
        const fresh = await api.getOrder(orderId);
        if (fresh.status !== order.status) await redraw(fresh);
        order = fresh;
      } catch (error) {
        if (error.status === 401 || error.status === 404) return;
      }
    }
  }

  const order = await api.getOrder(orderId);
  await redraw(order);
  if (returned && order.status === "unpaid") follow(order);
  return section;
}

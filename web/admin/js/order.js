// One order as the merchant sees it: buyer, address, lines, amounts; shipping it (carrier and
// tracking number) while it awaits shipment; its refunds as the payment service holds them, and
// a refund (full or partial) of an order paid with Alipay, sent with an Idempotency-Key.

import { formValues, h, whileBusy } from "../../js/dom.js";
import { formatCents, formatMoney, toCents } from "../../js/money.js";
import { adminApi } from "./api.js";
import { messageFor } from "./messages.js";
import { forgetRefundAttempt, refundKeyFor } from "./session.js";
import { fill, formatTime, statusBadge } from "./ui.js";

const REFUNDABLE = new Set(["unsent", "unreceived", "uncomment", "finished"]);
const REFUND_STATES = { succeeded: "Succeeded", pending: "Pending at Alipay", failed: "Failed" };

/** Cents as the API's money string ("30.00"). */
const plainAmount = (cents) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([term, value, testid]) =>
    [h("dt", {}, term), h("dd", { testid }, value)]));
}

function summaryCard(order) {
  return h("section", { class: "card", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    facts([
      ["Status", statusBadge(order.status)],
      ["Buyer", `${order.username || "?"} (user ${order.user_id})`, "order-buyer"],
      ["Placed", formatTime(order.created_at)],
      ["Pay with", order.pay_method === "alipay" ? "Alipay" : "Cash on delivery"],
      order.paid_at && ["Paid", formatTime(order.paid_at)],
      order.canceled_at && ["Cancelled", `${formatTime(order.canceled_at)} (${order.cancel_reason || "no reason"})`],
      ["Freight", formatMoney(order.freight)],
      ["Total", formatMoney(order.total_amount), "order-total"],
      ["Refunded", formatMoney(order.refunded_amount), "order-refunded"],
    ]));
}

function addressCard(order) {
  const a = order.address;
  return h("section", { class: "card", "aria-labelledby": "address-title" },
    h("h2", { id: "address-title" }, "Deliver to"),
    a ? h("address", { testid: "order-address" },
      h("strong", {}, a.receiver), ` · ${a.mobile}`, h("br"), `${a.place}, ${a.district}, ${a.city}, ${a.province}`)
      : h("p", { class: "muted" }, "No address on record."));
}

function linesCard(order) {
  return h("section", { class: "card wide", "aria-labelledby": "lines-title" },
    h("h2", { id: "lines-title" }, "Items"),
    h("table", { class: "table", testid: "order-lines" },
      h("thead", {}, h("tr", {}, ["SKU", "Item", "Price", "Count", "Subtotal"].map((t, i) =>
        h("th", { scope: "col", class: i >= 2 ? "num" : null }, t)))),
      h("tbody", {}, order.items.map((line) => h("tr", { testid: "order-line" },
        h("td", {}, String(line.sku_id)),
        h("td", {}, line.name),
        h("td", { class: "num" }, formatMoney(line.price)),
        h("td", { class: "num" }, String(line.count)),
        h("td", { class: "num" }, formatCents(toCents(line.price) * line.count)))))));
}

function shipmentCard(order, context, reload) {
  const card = h("section", { class: "card wide", testid: "shipment", "aria-labelledby": "shipment-title" },
    h("h2", { id: "shipment-title" }, "Shipment"));
  if (order.shipment) {
    card.append(facts([
      ["Carrier", order.shipment.carrier, "shipment-carrier"],
      ["Tracking number", order.shipment.tracking_no, "shipment-tracking"],
      ["Shipped", formatTime(order.shipment.shipped_at)],
      order.received_at && ["Received", formatTime(order.received_at)],
    ]));
    return card;
  }
  if (order.status !== "unsent") {
    card.append(h("p", { class: "muted", testid: "not-shippable" },
      order.status === "unpaid" ? "Not paid yet: it can be shipped once paid." : "Nothing to ship."));
    return card;
  }
  const form = h("form", { class: "inline-form", testid: "ship-form" },
    h("label", {}, "Carrier",
      h("input", { name: "carrier", required: true, maxlength: "50", testid: "ship-carrier", autocomplete: "off" })),
    h("label", {}, "Tracking number",
      h("input", { name: "tracking_no", required: true, maxlength: "64", testid: "ship-tracking", autocomplete: "off" })),
    h("button", { type: "submit", class: "primary", testid: "ship-submit" }, "Mark as shipped"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(form.querySelector("button"), async () => {
      const { carrier, tracking_no: trackingNo } = formValues(form);
      try {
        await adminApi.shipOrder(order.order_id, carrier.trim(), trackingNo.trim());
      } catch (error) {
        context.showFlash(messageFor(error), "error");
        return;
      }
      context.showFlash(`Shipped with ${carrier.trim()}, tracking number ${trackingNo.trim()}.`, "success");
      await reload();
    });
  });
  card.append(h("p", { class: "hint" }, "Awaiting shipment. Hand it to the carrier, then record it here."), form);
  return card;
}

function refundsTable(refunds) {
  if (!refunds.length) return h("p", { class: "muted", testid: "refunds-empty" }, "No refunds.");
  return h("table", { class: "table", testid: "refund-list" },
    h("thead", {}, h("tr", {}, ["Refund", "Amount", "Reason", "Status", "Made"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, refunds.map((r) => h("tr", { testid: "refund-row", data: { status: r.status } },
      h("td", { class: "mono" }, r.refund_id),
      h("td", { class: "num", testid: "refund-amount" }, formatMoney(r.amount)),
      h("td", {}, r.reason),
      h("td", { class: `refund-${r.status}`, testid: "refund-status" },
        REFUND_STATES[r.status] || r.status, r.error ? ` (${r.error})` : ""),
      h("td", {}, formatTime(r.created_at))))));
}

function refundForm(order, leftCents, context, reload) {
  const amount = h("input", {
    name: "amount", required: true, inputmode: "decimal", pattern: "\\d+(\\.\\d{1,2})?", testid: "refund-amount-input",
    "aria-describedby": "refund-left", autocomplete: "off",
  });
  const form = h("form", { class: "inline-form", testid: "refund-form" },
    h("label", {}, "Amount (¥)", amount),
    h("label", {}, "Reason",
      h("input", { name: "reason", required: true, maxlength: "256", testid: "refund-reason", autocomplete: "off" })),
    h("button", { type: "submit", class: "danger", testid: "refund-submit" }, "Refund"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(form.querySelector("button"), async () => {
      const values = formValues(form);
      const cents = toCents(values.amount.trim());
      const body = { amount: plainAmount(cents), reason: values.reason.trim() };
      let refund;
      try {
        refund = await adminApi.refundOrder(order.order_id, body, refundKeyFor(order.order_id, body));
      } catch (error) {
        // A refusal is an answer; only an unknown outcome (network, 5xx) keeps the key for a retry.
        if (error.status >= 400 && error.status < 500) forgetRefundAttempt();
        context.showFlash(messageFor(error), "error");
        return;
      }
      forgetRefundAttempt();
      const money = formatMoney(refund.amount);
      if (refund.status === "succeeded") context.showFlash(`Refunded ${money} to the buyer's Alipay account.`, "success");
      else if (refund.status === "pending") {
        context.showFlash(`Refund of ${money} requested; Alipay has not confirmed it yet${refund.error ? ` (${refund.error})` : ""}. ` +
          "The payment service asks again until it settles.", "info");
      } else context.showFlash(`Alipay refused the refund of ${money}${refund.error ? `: ${refund.error}` : ""}.`, "error");
      await reload();
    });
  });
  return h("div", {},
    h("p", { class: "hint", id: "refund-left", testid: "refund-left" }, `Up to ${formatCents(leftCents)} can still be refunded.`),
    form);
}

function refundsCard(order, context, reload) {
  const region = h("div", { testid: "refunds" });
  fill(region, "Loading refunds…", async () => {
    const { items } = await adminApi.listRefunds(order.order_id);
    const holding = items.filter((r) => r.status !== "failed").reduce((sum, r) => sum + toCents(r.amount), 0);
    const leftCents = toCents(order.total_amount) - Math.max(holding, toCents(order.refunded_amount));
    const canRefund = order.pay_method === "alipay" && REFUNDABLE.has(order.status) && leftCents > 0;
    return h("div", {},
      refundsTable(items),
      canRefund ? refundForm(order, leftCents, context, reload) : h("p", { class: "hint", testid: "not-refundable" },
        order.pay_method !== "alipay" ? "Cash orders are refunded by hand, outside the shop."
          : leftCents <= 0 ? "Refunded in full." : "Only a paid order can be refunded."));
  });
  return h("section", { class: "card wide", "aria-labelledby": "refunds-title" },
    h("h2", { id: "refunds-title" }, "Refunds"), region);
}

export function orderView(context) {
  const orderId = decodeURIComponent(context.params[0]);
  const body = h("div", { testid: "order-detail" });

  async function load() {
    await fill(body, "Loading the order…", async () => {
      const order = await adminApi.getOrder(orderId);
      return h("div", { class: "detail", data: { status: order.status } },
        summaryCard(order),
        addressCard(order),
        linesCard(order),
        shipmentCard(order, context, load),
        order.pay_method === "alipay" || order.refunds.length ? refundsCard(order, context, load) : null);
    });
  }

  load();
  return h("section", { testid: "order-page" },
    h("p", {}, h("a", { href: "#/orders", testid: "back-to-orders" }, "← All orders")),
    h("h1", {}, "Order ", h("span", { class: "mono", testid: "order-id" }, orderId)),
    body);
}

// The order list and one order's page. Back from Alipay, the order page polls every second
// until the payment has reached the order (status no longer `unpaid`).

import { api } from "../api.js";
import { h, whileBusy } from "../dom.js";
import { formatMoney } from "../money.js";
import { skuNames } from "../state.js";
import { payWithAlipay } from "./checkout.js";

const POLL_INTERVAL_MS = 1000;
const POLL_GIVE_UP_MS = 120_000;

export function statusLabel(order) {
  switch (order.status) {
    case "unpaid": return "Awaiting payment";
    case "unsent": return order.pay_method === "cash" ? "Cash on delivery — awaiting shipment" : "Paid — awaiting shipment";
    case "unreceived": return "Shipped";
    case "uncomment": return "Delivered — awaiting your review";
    case "finished": return "Finished";
    case "canceled": return "Cancelled";
    default: return order.status;
  }
}

function statusBadge(order) {
  return h("span", { class: `status status-${order.status}`, testid: "order-status", data: { status: order.status } },
    statusLabel(order));
}

const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const orderLink = (orderId) => `#/orders/${encodeURIComponent(orderId)}`;

export async function ordersView() {
  const { items } = await api.listOrders();
  const body = items.length
    ? h("table", { class: "table", testid: "order-list" },
      h("thead", {}, h("tr", {}, ["Order", "Placed", "Items", "Total", "Status"].map((t) => h("th", {}, t)))),
      h("tbody", {}, items.map((order) =>
        h("tr", { testid: "order-row", data: { orderId: order.order_id, status: order.status } },
          h("td", {}, h("a", { href: orderLink(order.order_id), testid: "order-link" }, order.order_id)),
          h("td", {}, formatTime(order.created_at)),
          h("td", {}, String(order.total_count)),
          h("td", {}, formatMoney(order.total_amount)),
          h("td", {}, statusBadge(order))))))
    : h("p", { class: "muted", testid: "order-list-empty" }, "You have no orders yet. ", h("a", { href: "#/" }, "Start shopping"));
  return h("section", { testid: "orders-page" }, h("h1", {}, "Your orders"), body);
}

async function namesFor(order) {
  const missing = order.items.filter((line) => !skuNames.has(line.sku_id));
  await Promise.all(missing.map(async (line) => {
    try {
      skuNames.set(line.sku_id, (await api.getSku(line.sku_id)).name);
    } catch {
      skuNames.set(line.sku_id, `Item ${line.sku_id}`);
    }
  }));
}

export async function orderView(context) {
  const [orderId] = context.params;
  const section = h("section", { class: "order", testid: "order-page", data: { orderId } });
  const notice = h("div", { testid: "payment-notice" });
  const content = h("div");
  section.append(notice, content);

  const returned = context.paymentReturn;
  if (returned?.result === "invalid") {
    notice.replaceChildren(h("p", { class: "flash flash-error" },
      "We could not confirm this payment's return from Alipay. If you paid, the order updates once Alipay tells us."));
  }

  async function draw(order) {
    await namesFor(order);
    content.replaceChildren(
      h("h1", {}, "Order ", h("span", { testid: "order-id" }, order.order_id)),
      h("p", {}, statusBadge(order)),
      h("table", { class: "table", testid: "order-items" },
        h("thead", {}, h("tr", {}, ["Item", "Quantity", "Price"].map((t) => h("th", {}, t)))),
        h("tbody", {}, order.items.map((line) => h("tr", {},
          h("td", {}, skuNames.get(line.sku_id)), h("td", {}, String(line.count)), h("td", {}, formatMoney(line.price)))))),
      h("dl", { class: "facts" },
        h("dt", {}, "Freight"), h("dd", {}, formatMoney(order.freight)),
        h("dt", {}, "Total"), h("dd", { testid: "order-total" }, formatMoney(order.total_amount)),
        h("dt", {}, "Pay method"), h("dd", {}, order.pay_method === "alipay" ? "Alipay" : "Cash on delivery"),
        h("dt", {}, "Placed"), h("dd", {}, formatTime(order.created_at)),
        order.status === "unpaid" && [h("dt", {}, "Pay before"), h("dd", {}, formatTime(order.pay_deadline))]),
      actions(order),
    );
  }

  function actions(order) {
    if (order.status !== "unpaid") return h("p", {}, h("a", { href: "#/orders" }, "← All orders"));
    const bar = h("div", { class: "actions" });
    const payButton = order.pay_method === "alipay"
      ? h("button", { type: "button", class: "primary", testid: "pay-button" }, "Pay with Alipay")
      : null;
    payButton?.addEventListener("click", () => whileBusy(payButton, async () => {
      try {
        await payWithAlipay(order.order_id);
      } catch (error) {
        await context.showError(error);
      }
    }));
    const cancelButton = h("button", { type: "button", testid: "cancel-button" }, "Cancel order");
    cancelButton.addEventListener("click", () => bar.replaceChildren(
      h("span", {}, "Cancel this order? Its items go back on sale. "),
      h("button", { type: "button", class: "danger", testid: "cancel-confirm", onclick: (e) => whileBusy(e.target, cancel) },
        "Yes, cancel it"),
      h("button", { type: "button", testid: "cancel-keep", onclick: () => draw(order) }, "Keep it")));
    bar.append(...[payButton, cancelButton].filter(Boolean), h("a", { href: "#/orders" }, "All orders"));
    return bar;
  }

  async function cancel() {
    try {
      const order = await api.cancelOrder(orderId);
      context.showFlash("The order is cancelled.", "success");
      await draw(order);
    } catch (error) {
      await context.showError(error);
      await draw(await api.getOrder(orderId));
    }
  }

  async function pollUntilPaid(order) {
    const waiting = h("p", { class: "flash flash-info", testid: "payment-confirming" },
      "Thank you! Waiting for the payment to be confirmed…");
    notice.replaceChildren(waiting);
    const giveUpAt = Date.now() + POLL_GIVE_UP_MS;
    while (order.status === "unpaid" && context.isCurrent()) {
      if (Date.now() > giveUpAt) {
        waiting.textContent = "The payment is taking longer than usual to confirm. Reload this page in a moment.";
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      try {
        order = await api.getOrder(orderId);
      } catch (error) {
        if (error.status === 401 || error.status === 404) return;
        continue;
      }
      if (context.isCurrent()) await draw(order);
    }
    if (context.isCurrent() && order.status !== "unpaid") showConfirmed(order);
  }

  function showConfirmed(order) {
    if (order.status === "unsent") {
      notice.replaceChildren(h("p", { class: "flash flash-success", testid: "payment-confirmed" }, "Payment received. Thank you!"));
    } else {
      notice.replaceChildren();
    }
  }

  const order = await api.getOrder(orderId);
  await draw(order);
  if (returned?.result === "success" && order.status === "unpaid") pollUntilPaid(order);
  else if (returned?.result === "success") showConfirmed(order);
  return section;
}

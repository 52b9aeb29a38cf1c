// Pieces every back-office page uses: a loading state per fetch, an error panel in words,
// status badges and dates.

import { h } from "../../js/dom.js";
import { messageFor } from "./messages.js";

export const STATUS_LABELS = {
  unpaid: "Awaiting payment",
  unsent: "Awaiting shipment",
  unreceived: "Shipped",
  uncomment: "Received, awaiting review",
  finished: "Finished",
  canceled: "Cancelled",
  refunded: "Refunded",
};

export function statusBadge(status) {
  return h("span", { class: `status status-${status}`, testid: "order-status", data: { status } },
    STATUS_LABELS[status] || status);
}

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

export function loading(what) {
  return h("p", { class: "loading", role: "status", testid: "loading" },
    h("span", { class: "spinner", "aria-hidden": "true" }), what);
}

export function errorPanel(error, retry) {
  if (!error?.status) console.error(error);
  return h("div", { class: "panel-error", role: "alert", testid: "load-error", data: { code: error?.code || "" } },
    h("p", {}, messageFor(error)),
    retry && error?.status !== 401 && error?.status !== 403
      ? h("button", { type: "button", testid: "retry", onclick: retry }, "Try again")
      : null);
}

/**
 * Fill `region` with what `build()` resolves to, showing `what` as its loading state meanwhile;
 * on an error, the reason in words and a retry button. Resolves to true when it was filled.
 */
export async function fill(region, what, build) {
  region.setAttribute("aria-busy", "true");
  region.replaceChildren(loading(what));
  try {
    region.replaceChildren(await build());
    return true;
  } catch (error) {
    region.replaceChildren(errorPanel(error, () => fill(region, what, build)));
    return false;
  } finally {
    region.removeAttribute("aria-busy");
  }
}

/** A visible label around a control, with an optional hint under it. */
export function field(text, control, { hint } = {}) {
  return h("label", {}, text, control, hint ? h("span", { class: "hint" }, hint) : null);
}

// Problem documents (`code`, `detail`) turned into sentences for the merchant. Never raw JSON.

export const SESSION_EXPIRED = "Your session expired, please log in again.";

const MESSAGES = {
  network_error: "We cannot reach the order service right now. Check the connection and try again.",
  unauthorized: SESSION_EXPIRED,
  invalid_credentials: "Wrong username or password.",
  forbidden:
    "Refused (403): this account is not one of the shop's admins, so it cannot use the back office. " +
    "Log in with an admin account (the command “python -m order_service create-admin USERNAME” makes one).",
  order_not_found: "There is no order with that id.",
  order_not_shippable: "This order cannot be shipped: only an order awaiting shipment can.",
  order_not_refundable: "This order cannot be refunded: only an order paid with Alipay, and not refunded in full, can.",
  refund_exceeds_paid: "That is more than is left to refund.",
  sku_not_found: "That SKU no longer exists.",
  insufficient_stock: "That would take the stock below zero.",
  stock_contention: "Buyers are checking out this SKU right now. Try again in a moment.",
  payment_unavailable: "The payment service cannot be reached, so nothing was refunded. Try again in a moment.",
  dependency_unavailable: "The shop's database is not answering right now. Try again in a moment.",
  too_many_requests: "Too many attempts. Wait a minute and try again.",
};

// Codes whose `detail` says something the sentence above does not (what is refunded already…).
const WITH_DETAIL = new Set(["refund_exceeds_paid", "order_not_shippable", "order_not_refundable", "forbidden"]);

const FIELD_LABELS = {
  username: "username",
  password: "password",
  carrier: "carrier",
  tracking_no: "tracking number (letters, digits and dashes)",
  amount: "amount (yuan, at most two decimals)",
  reason: "reason",
  stock_delta: "stock change (a whole number)",
  q: "search words",
  created_from: "first date",
  created_to: "last date",
  status: "status",
};

function fieldLabel(field) {
  const last = String(field || "").split(".").pop();
  return FIELD_LABELS[last] || last.replaceAll("_", " ");
}

/** A sentence saying why `error` (an ApiError, or anything thrown) happened. */
export function messageFor(error) {
  const code = error?.code;
  const problem = error?.problem || {};
  const detail = typeof problem.detail === "string" ? problem.detail : "";
  if (code === "validation_error" && Array.isArray(problem.errors) && problem.errors.length) {
    const fields = [...new Set(problem.errors.map((e) => fieldLabel(e.field)))];
    return `Please check the ${fields.join(", ")}.`;
  }
  if (MESSAGES[code]) {
    return WITH_DETAIL.has(code) && detail ? `${MESSAGES[code]} The shop said: “${detail}”` : MESSAGES[code];
  }
  if (detail && error?.status && error.status < 500) return detail;
  if (error?.status) return `The shop failed to answer (HTTP ${error.status}). Try again in a moment.`;
  return "Something went wrong in this page. Reload it and try again.";
}

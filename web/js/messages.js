// Problem documents turned into sentences for a person. Never shows raw JSON.

import { api } from "./api.js";

export const SESSION_EXPIRED = "Your session expired, please log in again";

const MESSAGES = {
  network_error: "We cannot reach the shop right now. Check your connection and try again.",
  unauthorized: SESSION_EXPIRED,
  invalid_credentials: "Wrong username or password.",
  username_taken: "That username is already taken. Please choose another one.",
  sku_not_found: "Sorry, that product is no longer available.",
  empty_cart: "Your cart has no selected items to order.",
  address_not_found: "That address no longer exists. Please choose or add another one.",
  order_not_found: "We could not find that order.",
  order_not_payable: "This order can no longer be paid.",
  order_not_cancelable: "This order can no longer be cancelled.",
  payment_unavailable: "Payment is temporarily unavailable. Please try again in a moment.",
  idempotency_key_reused: "Your order changed while it was being placed. Please try again.",
  rate_limited: "Too many attempts. Please wait a moment and try again.",
  too_many_requests: "Too many attempts. Please wait a minute and try again.",
  weak_password:
    "Please choose a stronger password: at least 8 characters, not a common one, not your username.",
  dependency_unavailable: "The shop is briefly unavailable. Please try again in a few seconds.",
  internal_error: "Something went wrong on our side. Please try again.",
};

const FIELD_LABELS = {
  username: "username",
  password: "password",
  receiver: "receiver",
  mobile: "mobile number",
  province: "province",
  city: "city",
  district: "district",
  place: "street address",
  count: "quantity",
};

function fieldLabel(field) {
  const last = String(field || "").split(".").pop();
  return FIELD_LABELS[last] || last.replaceAll("_", " ");
}

async function outOfStockMessage(problem) {
  let name = "that item";
  let left = problem.available ?? problem.stock;
  try {
    const sku = await api.getSku(problem.sku_id);
    name = `“${sku.name}”`;
    left ??= sku.stock;
  } catch {
    // The sentence still makes sense without the name.
  }
  if (!left) return `Sorry, ${name} is out of stock.`;
  return `Sorry, only ${left} of ${name} left.`;
}

/** A sentence describing why `error` (an ApiError or anything thrown) happened. */
export async function messageFor(error) {
  const code = error?.code;
  const problem = error?.problem || {};
  if (code === "insufficient_stock") return outOfStockMessage(problem);
  if (code === "validation_error" && Array.isArray(problem.errors) && problem.errors.length) {
    const fields = [...new Set(problem.errors.map((e) => fieldLabel(e.field)))];
    return `Please check the ${fields.join(", ")}.`;
  }
  if (MESSAGES[code]) return MESSAGES[code];
  if (error?.status >= 500 || !error?.status) return MESSAGES.internal_error;
  return typeof problem.detail === "string" ? problem.detail : MESSAGES.internal_error;
}

// Problem documents turned into sentences for a person, in the shopper's language. Never shows
// raw JSON, and never the server's English `detail` to a Chinese reader.

import { api } from "./api.js";
import { t } from "./i18n.js";

const KNOWN = new Set([
  "network_error", "unauthorized", "invalid_credentials", "username_taken", "sku_not_found",
  "goods_not_found", "empty_cart", "address_not_found", "order_not_found", "order_not_payable",
  "order_not_cancelable", "order_not_receivable", "order_not_commentable", "payment_unavailable",
  "idempotency_key_reused", "stock_contention", "amount_out_of_range", "too_many_requests",
  "dependency_unavailable", "payload_too_large", "weak_password", "internal_error",
]);

export const sessionExpired = () => t("error.unauthorized");

function fieldLabel(field) {
  const last = String(field || "").split(".").filter((part) => !/^\d+$/.test(part)).pop() || "";
  const key = `field.${last}`;
  const label = t(key);
  return label === key ? last.replaceAll("_", " ") : label;
}

async function outOfStockMessage(problem) {
  let name = t("error.thatItem");
  let left = problem.available ?? problem.stock;
  try {
    const sku = await api.getSku(problem.sku_id);
    name = `“${sku.name}”`;
    left ??= sku.stock;
  } catch {
    // The sentence still makes sense without the name.
  }
  return left ? t("error.onlyLeft", { count: left, name }) : t("error.outOfStock", { name });
}

/** A sentence describing why `error` (an ApiError or anything thrown) happened. */
export async function messageFor(error) {
  const code = error?.code;
  const status = error?.status;
  const problem = error?.problem || {};
  if (code === "insufficient_stock") return outOfStockMessage(problem);
  if (code === "validation_error" && Array.isArray(problem.errors) && problem.errors.length) {
    const fields = [...new Set(problem.errors.map((e) => fieldLabel(e.field)))];
    return t("error.checkFields", { fields: fields.join(t("list.and")) });
  }
  if (code === "rate_limited") return t("error.too_many_requests");
  if (KNOWN.has(code)) return t(`error.${code}`);
  // A route this server does not have yet (405 from the static files, or a plain 404).
  if (status === 405 || code === "method_not_allowed" || code === "not_found") return t("error.not_available");
  if (!status) return t("error.network_error");
  if (status >= 500) return t("error.internal_error");
  return t("error.generic", { code: code || status });
}

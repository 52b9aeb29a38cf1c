// The back office's calls: the contract's /api/admin/ routes (and the public SKU list), made with
// the storefront's request helper so that errors are the same ApiError (status, problem `code`).
// The admin's token is sent explicitly: it is not the storefront's buyer session.

import { query, request } from "../../js/api.js";
import { adminSession } from "./session.js";

let onSessionExpired = () => {};

export function handleSessionExpired(callback) {
  onSessionExpired = callback;
}

async function call(method, path, options = {}) {
  const token = adminSession.token;
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await request(method, path, { ...options, headers, auth: false });
  } catch (error) {
    if (error.status === 401 && token) onSessionExpired(error);
    throw error;
  }
}

const id = encodeURIComponent;

export const adminApi = {
  logIn: (username, password) =>
    request("POST", "/api/auth/token", { form: { username, password }, auth: false }),

  searchOrders: (filters) => call("GET", `/api/admin/orders${query(filters)}`),
  getOrder: (orderId) => call("GET", `/api/admin/orders/${id(orderId)}`),
  shipOrder: (orderId, carrier, trackingNo) =>
    call("POST", `/api/admin/orders/${id(orderId)}/ship`, { json: { carrier, tracking_no: trackingNo } }),
  listRefunds: (orderId) => call("GET", `/api/admin/orders/${id(orderId)}/refunds`),
  refundOrder: (orderId, body, idempotencyKey) =>
    call("POST", `/api/admin/orders/${id(orderId)}/refunds`, {
      json: body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),

  listSkus: (offset, limit) => call("GET", `/api/skus${query({ offset, limit })}`),
  getSku: (skuId) => call("GET", `/api/skus/${id(skuId)}`),
  adjustStock: (skuId, delta) => call("PATCH", `/api/admin/skus/${id(skuId)}`, { json: { stock_delta: delta } }),
};

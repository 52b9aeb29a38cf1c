// The order service's public API (see the contract). Every error becomes an ApiError carrying
// the problem document's `code`; a 401 on an authenticated call ends the session.

import { session } from "./state.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status ? "http_error" : "network_error");
    this.problem = problem;
  }
}

let onSessionExpired = () => {};

export function handleSessionExpired(callback) {
  onSessionExpired = callback;
}

export async function request(method, path, { json, form, headers = {}, auth = true } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  if (form) init.body = new URLSearchParams(form);
  if (auth && session.token) init.headers.Authorization = `Bearer ${session.token}`;

  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, {});
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (response.ok) return body;

  const error = new ApiError(response.status, body);
  if (response.status === 401 && auth) onSessionExpired(error);
  throw error;
}

const id = encodeURIComponent;

/** `?a=1&b=2` of the parameters given a value, or "" when none is. */
export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

export const api = {
  register: (username, password) =>
    request("POST", "/api/auth/register", { json: { username, password }, auth: false }),
  logIn: (username, password) =>
    request("POST", "/api/auth/token", { form: { username, password }, auth: false }),

  listGoods: (q, offset, limit) => request("GET", `/api/goods${query({ q, offset, limit })}`, { auth: false }),
  getGoods: (goodsId) => request("GET", `/api/goods/${id(goodsId)}`, { auth: false }),
  getSku: (skuId) => request("GET", `/api/skus/${id(skuId)}`, { auth: false }),

  listAddresses: () => request("GET", "/api/addresses"),
  createAddress: (address) => request("POST", "/api/addresses", { json: address }),

  getCart: () => request("GET", "/api/cart"),
  putCartItem: (skuId, count, selected = true) =>
    request("PUT", `/api/cart/items/${id(skuId)}`, { json: { count, selected } }),
  removeCartItem: (skuId) => request("DELETE", `/api/cart/items/${id(skuId)}`),

  placeOrder: (body, idempotencyKey) =>
    request("POST", "/api/orders", { json: body, headers: { "Idempotency-Key": idempotencyKey } }),
  listOrders: (status, offset, limit) => request("GET", `/api/orders${query({ status, offset, limit })}`),
  getOrder: (orderId) => request("GET", `/api/orders/${id(orderId)}`),
  startPayment: (orderId, channel = "page") =>
    request("POST", `/api/orders/${id(orderId)}/payment`, { json: { channel } }),
  cancelOrder: (orderId) => request("POST", `/api/orders/${id(orderId)}/cancel`),
  receiveOrder: (orderId) => request("POST", `/api/orders/${id(orderId)}/receive`),
  commentOrder: (orderId, items) => request("POST", `/api/orders/${id(orderId)}/comments`, { json: { items } }),
};

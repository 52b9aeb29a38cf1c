// What the storefront remembers: the session (localStorage), the order being placed and where to
// come back to (sessionStorage), a one-shot message for the next page, and the names of SKUs seen
// so far. The ways of remembering are web/js/memory.js's, shared with the back office.

import { oneShot, pendingKey, storedSession } from "./memory.js";

export { flashNext, takeFlash } from "./memory.js";

const PENDING_ORDER = "shop.pendingOrder";

export const session = storedSession("shop", [PENDING_ORDER]);

const pendingOrder = pendingKey(PENDING_ORDER);

/**
 * The Idempotency-Key for placing this order: the same body keeps its key until the outcome is
 * known, so a retried click after a lost answer or a server error cannot create a second order.
 */
export function idempotencyKeyFor(body) {
  return pendingOrder.keyFor(body);
}

/** The last attempt's outcome is known (placed, or refused with a 4xx): the next one is new. */
export function forgetOrderAttempt() {
  pendingOrder.forget();
}

/** The order sent to Alipay's cashier: leaving the cashier comes back without its id. */
const paying = oneShot("shop.payingOrder");
export const rememberPaying = paying.remember;
export const takePaying = paying.take;

const returnTo = oneShot("shop.returnTo");
export const rememberReturnTo = returnTo.remember;

export function takeReturnTo() {
  return returnTo.take() || "#/";
}

/** Names of SKUs by id, filled from the catalog and the cart, for order pages. */
export const skuNames = new Map();

/** The last catalog page seen (search words and offset), for "back to the shop". */
export const catalogPlace = { hash: "#/" };

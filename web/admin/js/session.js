// What the back office remembers: the admin's session (localStorage, apart from a buyer's
// storefront session), where to go back to after logging in, a message for the next page, and
// the Idempotency-Key of a refund whose outcome is not known yet. The ways of remembering are
// web/js/memory.js's, shared with the storefront.

import { oneShot, pendingKey, storedSession } from "../../js/memory.js";

export { flashNext, takeFlash } from "../../js/memory.js";

export const adminSession = storedSession("shop.admin");

const returnTo = oneShot("shop.admin.returnTo");
export const rememberReturnTo = returnTo.remember;

export function takeReturnTo() {
  const hash = returnTo.take();
  return hash && hash !== "#/login" ? hash : "#/orders";
}

const pendingRefund = pendingKey("shop.admin.pendingRefund");

/**
 * The Idempotency-Key of this refund: the same order and body keep their key until the outcome
 * is known, so pressing Refund again after a lost answer cannot refund twice.
 */
export function refundKeyFor(orderId, body) {
  return pendingRefund.keyFor([orderId, body]);
}

/** The refund's outcome is known (made, or refused with a 4xx): the next one is a new refund. */
export function forgetRefundAttempt() {
  pendingRefund.forget();
}

// What the back office remembers: the admin's session (localStorage, apart from a buyer's
// storefront session), where to go back to after logging in, a message for the next page, and
// the Idempotency-Key of a refund whose outcome is not known yet.

const TOKEN = "shop.admin.token";
const USERNAME = "shop.admin.username";
const RETURN_TO = "shop.admin.returnTo";
const PENDING_REFUND = "shop.admin.pendingRefund";

export const adminSession = {
  get token() {
    return localStorage.getItem(TOKEN);
  },
  get username() {
    return localStorage.getItem(USERNAME);
  },
  signIn(token, username) {
    localStorage.setItem(TOKEN, token);
    localStorage.setItem(USERNAME, username);
  },
  signOut() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USERNAME);
  },
};

export function rememberReturnTo(hash) {
  sessionStorage.setItem(RETURN_TO, hash);
}

export function takeReturnTo() {
  const hash = sessionStorage.getItem(RETURN_TO);
  sessionStorage.removeItem(RETURN_TO);
  return hash && hash !== "#/login" ? hash : "#/orders";
}

let pendingFlash = null;

/** A message shown on the next rendered page (after a navigation). */
export function flashNext(message, kind = "info") {
  pendingFlash = { message, kind };
}

export function takeFlash() {
  const flash = pendingFlash;
  pendingFlash = null;
  return flash;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Idempotency-Key of this refund: the same order and body keep their key until the outcome
 * is known, so pressing Refund again after a lost answer cannot refund twice.
 */
export function refundKeyFor(orderId, body) {
  const text = JSON.stringify([orderId, body]);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_REFUND) || "null");
  if (pending && pending.text === text) return pending.key;
  const key = newKey();
  sessionStorage.setItem(PENDING_REFUND, JSON.stringify({ key, text }));
  return key;
}

/** The refund's outcome is known (made, or refused with a 4xx): the next one is a new refund. */
export function forgetRefundAttempt() {
  sessionStorage.removeItem(PENDING_REFUND);
}

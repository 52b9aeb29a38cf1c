// What the storefront remembers: the session (localStorage), the order being placed (sessionStorage),
// a one-shot message for the next page, and the names of SKUs seen so far.

const TOKEN = "shop.token";
const USERNAME = "shop.username";
const PENDING_ORDER = "shop.pendingOrder";
const RETURN_TO = "shop.returnTo";
const PAYING = "shop.payingOrder";

export const session = {
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
    sessionStorage.removeItem(PENDING_ORDER);
  },
};

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues works everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Idempotency-Key for placing this order: the same body keeps its key until the outcome is
 * known, so a retried click after a lost answer or a server error cannot create a second order.
 */
export function idempotencyKeyFor(body) {
  const text = JSON.stringify(body);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_ORDER) || "null");
  if (pending && pending.body === text) return pending.key;
  const key = newKey();
  sessionStorage.setItem(PENDING_ORDER, JSON.stringify({ key, body: text }));
  return key;
}

/** The last attempt's outcome is known (placed, or refused with a 4xx): the next one is new. */
export function forgetOrderAttempt() {
  sessionStorage.removeItem(PENDING_ORDER);
}

/** The order sent to Alipay's cashier: leaving the cashier comes back without its id. */
export function rememberPaying(orderId) {
  sessionStorage.setItem(PAYING, orderId);
}

export function takePaying() {
  const orderId = sessionStorage.getItem(PAYING);
  sessionStorage.removeItem(PAYING);
  return orderId;
}

export function rememberReturnTo(hash) {
  sessionStorage.setItem(RETURN_TO, hash);
}

export function takeReturnTo() {
  const hash = sessionStorage.getItem(RETURN_TO);
  sessionStorage.removeItem(RETURN_TO);
  return hash || "#/";
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

/** Names of SKUs by id, filled from the catalog and the cart, for order pages. */
export const skuNames = new Map();

/** The last catalog page seen (search words and offset), for "back to the shop". */
export const catalogPlace = { hash: "#/" };

// What the storefront and the back office remember in the browser, one way for both: a signed-in
// session (localStorage), a value kept for one later read and the Idempotency-Key of a write whose
// outcome is not known yet (sessionStorage), and a message for the next page. Each app names its
// own keys (web/js/state.js, web/admin/js/session.js).

/**
 * A session kept in localStorage as `${prefix}.token` and `${prefix}.username`; signing out also
 * forgets the sessionStorage keys in `alsoForget`.
 */
export function storedSession(prefix, alsoForget = []) {
  const TOKEN = `${prefix}.token`;
  const USERNAME = `${prefix}.username`;
  return {
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
      for (const key of alsoForget) sessionStorage.removeItem(key);
    },
  };
}

/** A value remembered in sessionStorage under `key` until it is taken (once). */
export function oneShot(key) {
  return {
    remember(value) {
      sessionStorage.setItem(key, value);
    },
    take() {
      const value = sessionStorage.getItem(key);
      sessionStorage.removeItem(key);
      return value;
    },
  };
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues works everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Idempotency-Key of one write (an order, a refund), kept in sessionStorage under `key`: the
 * same request keeps its key until `forget()` (the outcome is known), so a retry after a lost
 * answer or a server error cannot do the write twice.
 */
export function pendingKey(key) {
  return {
    keyFor(request) {
      const text = JSON.stringify(request);
      const pending = JSON.parse(sessionStorage.getItem(key) || "null");
      if (pending && pending.text === text) return pending.key;
      const fresh = newKey();
      sessionStorage.setItem(key, JSON.stringify({ key: fresh, text }));
      return fresh;
    },
    forget() {
      sessionStorage.removeItem(key);
    },
  };
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

// The storefront shell: hash routes, the navigation bar, the message banner, and the landing
// from Alipay (…/?order_id=…&result=success) which opens that order's page.

import { api, handleSessionExpired } from "./api.js";
import { h } from "./dom.js";
import { SESSION_EXPIRED, messageFor } from "./messages.js";
import { flashNext, rememberReturnTo, session, takeFlash } from "./state.js";
import { authView } from "./views/auth.js";
import { cartView } from "./views/cart.js";
import { catalogView } from "./views/catalog.js";
import { checkoutView } from "./views/checkout.js";
import { orderView, ordersView } from "./views/orders.js";

const ROUTES = [
  { pattern: /^#\/?$/, view: catalogView },
  { pattern: /^#\/login$/, view: authView },
  { pattern: /^#\/cart$/, view: cartView, signedIn: true },
  { pattern: /^#\/checkout$/, view: checkoutView, signedIn: true },
  { pattern: /^#\/orders$/, view: ordersView, signedIn: true },
  { pattern: /^#\/orders\/([^/]+)$/, view: orderView, signedIn: true },
];

const main = document.getElementById("main");
const flashBox = document.getElementById("flash");
let renderCount = 0;
let paymentReturn = null;

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function showFlash(message, kind = "info") {
  flashBox.textContent = message;
  flashBox.className = `flash flash-${kind}`;
  flashBox.dataset.kind = kind;
  flashBox.hidden = false;
}

function clearFlash() {
  flashBox.hidden = true;
  flashBox.textContent = "";
}

async function showError(error) {
  showFlash(await messageFor(error), "error");
}

async function refreshNav() {
  const nav = document.getElementById("nav");
  const links = [h("a", { href: "#/", testid: "nav-catalog" }, "Catalog")];
  if (session.token) {
    const count = h("span", { class: "badge", testid: "cart-count" }, "0");
    links.push(
      h("a", { href: "#/cart", testid: "nav-cart" }, "Cart ", count),
      h("a", { href: "#/orders", testid: "nav-orders" }, "Orders"),
      h("span", { class: "who", testid: "nav-user" }, session.username),
      h("button", { type: "button", class: "link", testid: "nav-logout", onclick: logOut }, "Log out"),
    );
    nav.replaceChildren(...links);
    try {
      const cart = await api.getCart();
      count.textContent = String(cart.items.reduce((sum, item) => sum + item.count, 0));
    } catch {
      // The count is a nicety; the page itself reports errors.
    }
  } else {
    links.push(h("a", { href: "#/login", testid: "nav-login" }, "Log in / Register"));
    nav.replaceChildren(...links);
  }
}

function logOut() {
  session.signOut();
  flashNext("You are logged out.");
  navigate("#/");
}

handleSessionExpired(() => {
  if (!session.token) return;
  session.signOut();
  rememberReturnTo(location.hash);
  flashNext(SESSION_EXPIRED, "error");
  navigate("#/login");
});

async function render() {
  const current = ++renderCount;
  const hash = location.hash || "#/";
  const route = ROUTES.find((r) => r.pattern.test(hash)) || ROUTES[0];
  const params = hash.match(route.pattern).slice(1).map(decodeURIComponent);

  if (route.signedIn && !session.token) {
    rememberReturnTo(hash);
    flashNext("Please log in first.");
    navigate("#/login");
    return;
  }

  const flash = takeFlash();
  if (flash) showFlash(flash.message, flash.kind);
  else clearFlash();
  refreshNav();

  const context = {
    params,
    navigate,
    showFlash,
    showError,
    refreshNav,
    isCurrent: () => current === renderCount,
    paymentReturn: takePaymentReturn(params[0]),
  };
  main.setAttribute("aria-busy", "true");
  try {
    const page = await route.view(context);
    if (context.isCurrent()) main.replaceChildren(page);
  } catch (error) {
    if (!context.isCurrent()) return;
    main.replaceChildren(h("p", { class: "muted" }, "This page could not be loaded."));
    if (error?.status !== 401) await showError(error);
  } finally {
    if (context.isCurrent()) main.removeAttribute("aria-busy");
  }
}

function takePaymentReturn(orderId) {
  if (!paymentReturn || paymentReturn.orderId !== orderId) return null;
  const result = paymentReturn;
  paymentReturn = null;
  return result;
}

/** Back from Alipay: the payment service sends the browser to /?order_id=…&result=… */
function readPaymentReturn() {
  const query = new URLSearchParams(location.search);
  const orderId = query.get("order_id");
  if (!orderId) return;
  paymentReturn = { orderId, result: query.get("result") };
  history.replaceState(null, "", `${location.pathname}#/orders/${encodeURIComponent(orderId)}`);
}

readPaymentReturn();
window.addEventListener("hashchange", render);
render();

// The storefront shell: hash routes (#/path?query), the navigation bar, the language switch, the
// message banner, the loading state, the not-found view, and the landing from Alipay
// (…/?order_id=…&result=…), which opens that order's page.

import { api, handleSessionExpired } from "./api.js";
import { h, loading } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { messageFor, sessionExpired } from "./messages.js";
import { flashNext, rememberReturnTo, session, takeFlash, takePaying } from "./state.js";
import { authView } from "./views/auth.js";
import { cartView } from "./views/cart.js";
import { catalogView } from "./views/catalog.js";
import { checkoutView } from "./views/checkout.js";
import { goodsView } from "./views/goods.js";
import { notFoundView } from "./views/notfound.js";
import { orderView, ordersView } from "./views/orders.js";

const ROUTES = [
  { pattern: /^\/?$/, view: catalogView, name: "catalog" },
  { pattern: /^\/goods\/(\d{1,10})$/, view: goodsView, name: "goods" },
  { pattern: /^\/login$/, view: authView, name: "login" },
  { pattern: /^\/cart$/, view: cartView, signedIn: true, name: "cart" },
  { pattern: /^\/checkout$/, view: checkoutView, signedIn: true, name: "checkout" },
  { pattern: /^\/orders$/, view: ordersView, signedIn: true, name: "orders" },
  { pattern: /^\/orders\/([A-Za-z0-9]{1,64})$/, view: orderView, signedIn: true, name: "order" },
];
const NOT_FOUND = { view: notFoundView, name: "not-found" };

const main = document.getElementById("main");
const flashBox = document.getElementById("flash");
let renderCount = 0;
let paymentReturn = null;

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function showFlash(message, kind = "info") {
  flashBox.replaceChildren(
    h("span", { testid: "flash-text" }, message),
    h("button", { type: "button", class: "link dismiss", "aria-label": t("flash.dismiss"), onclick: clearFlash }, "×"),
  );
  flashBox.className = `flash flash-${kind}`;
  flashBox.dataset.kind = kind;
  flashBox.setAttribute("role", kind === "error" ? "alert" : "status");
  flashBox.hidden = false;
}

function clearFlash() {
  flashBox.hidden = true;
  flashBox.replaceChildren();
}

async function showError(error) {
  showFlash(await messageFor(error), "error");
}

function navLink(hash, testid, label, current, ...extra) {
  return h("a", { href: hash, testid, "aria-current": current ? "page" : false }, label, ...extra);
}

async function refreshNav(routeName = document.body.dataset.view) {
  const nav = document.getElementById("nav");
  const links = [navLink("#/", "nav-catalog", t("nav.catalog"), routeName === "catalog")];
  const switcher = h("button", {
    type: "button", class: "lang", testid: "nav-language", lang: language() === "en" ? "zh-CN" : "en",
    "aria-label": t("nav.languageLabel"),
    onclick: () => { setLanguage(language() === "en" ? "zh-CN" : "en"); shell(); render(); },
  }, t("nav.language"));
  if (session.token) {
    const count = h("span", { class: "badge", testid: "cart-count" }, "0");
    const cartLink = navLink("#/cart", "nav-cart", t("nav.cart"), routeName === "cart", " ", count);
    links.push(
      cartLink,
      navLink("#/orders", "nav-orders", t("nav.orders"), routeName === "orders" || routeName === "order"),
      h("span", { class: "who", testid: "nav-user" }, session.username),
      h("button", { type: "button", class: "link", testid: "nav-logout", onclick: logOut }, t("nav.logout")),
      switcher,
    );
    nav.replaceChildren(...links);
    try {
      const cart = await api.getCart();
      const units = cart.items.reduce((sum, item) => sum + item.count, 0);
      count.textContent = String(units);
      cartLink.setAttribute("aria-label", t("nav.cartCount", { count: units }));
    } catch {
      // The count is a nicety; the page itself reports errors.
    }
  } else {
    links.push(navLink("#/login", "nav-login", t("nav.login"), routeName === "login"), switcher);
    nav.replaceChildren(...links);
  }
}

function logOut() {
  session.signOut();
  flashNext(t("auth.loggedOut"));
  navigate("#/");
}

handleSessionExpired(() => {
  if (!session.token) return;
  session.signOut();
  rememberReturnTo(location.hash);
  flashNext(sessionExpired(), "error");
  navigate("#/login");
});

/** The words of the page around the views, in the current language. */
function shell() {
  document.title = t("shop.name");
  document.querySelector("[data-testid=brand]").textContent = t("shop.name");
  document.querySelector("[data-testid=skip-link]").textContent = t("shop.skip");
  document.getElementById("nav").setAttribute("aria-label", t("nav.main"));
  document.querySelector("[data-testid=footer]").textContent = t("shop.footer");
}

function parseHash() {
  const raw = (location.hash || "#/").slice(1);
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
}

/** After a navigation, a screen reader starts at the new page's heading. */
function focusHeading() {
  const heading = main.querySelector("h1");
  if (!heading) return;
  heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
}

async function render(moveFocus = false) {
  const current = ++renderCount;
  const { path, query } = parseHash();
  const route = ROUTES.find((r) => r.pattern.test(path)) || NOT_FOUND;
  const params = route.pattern ? path.match(route.pattern).slice(1).map(decodeURIComponent) : [];

  if (route.signedIn && !session.token) {
    rememberReturnTo(location.hash);
    flashNext(t("auth.loginFirst"));
    navigate("#/login");
    return;
  }

  const flash = takeFlash();
  if (flash) showFlash(flash.message, flash.kind);
  else clearFlash();
  document.body.dataset.view = route.name;
  refreshNav(route.name);

  const context = {
    params,
    query,
    navigate,
    showFlash,
    showError,
    refreshNav: () => refreshNav(route.name),
    isCurrent: () => current === renderCount,
    paymentReturn: takePaymentReturn(params[0]),
  };
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(loading());
  try {
    const page = await route.view(context);
    if (context.isCurrent()) {
      main.replaceChildren(page);
      if (moveFocus) focusHeading();
    }
  } catch (error) {
    if (!context.isCurrent()) return;
    const retry = h("button", { type: "button", testid: "retry", onclick: () => render() }, t("load.retry"));
    main.replaceChildren(h("section", { class: "load-failed", testid: "load-failed" },
      h("h1", {}, t("load.failed")), retry));
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

/**
 * Back from Alipay: the payment service sends the browser to /?order_id=…&result=…. Leaving the
 * wap cashier comes back as result=left (its quit_url); a return without an order id is the
 * order we sent there.
 */
function readPaymentReturn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("result") && !query.has("order_id")) return;
  const paying = takePaying();
  const orderId = query.get("order_id") || paying;
  let result = "left";
  const given = query.get("result");
  if (query.get("order_id")) result = given === "success" || given === "left" ? given : "unverified";
  const hash = orderId ? `#/orders/${encodeURIComponent(orderId)}` : "#/orders";
  if (orderId) paymentReturn = { orderId, result };
  history.replaceState(null, "", `${location.pathname}${hash}`);
}

shell();
readPaymentReturn();
window.addEventListener("hashchange", () => render(true));
render();

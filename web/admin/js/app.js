// The back office's shell (served at /admin/): hash routes, the navigation bar, the message
// banner, and the way back to the log-in page when the session ends.

import { h } from "../../js/dom.js";
import { handleSessionExpired } from "./api.js";
import { loginView } from "./login.js";
import { SESSION_EXPIRED } from "./messages.js";
import { orderView } from "./order.js";
import { ordersView } from "./orders.js";
import { adminSession, flashNext, rememberReturnTo, takeFlash } from "./session.js";
import { stockView } from "./stock.js";

const ROUTES = [
  { pattern: /^#\/login$/, view: loginView, public: true, title: "Log in" },
  { pattern: /^#\/orders(?:\?(.*))?$/, view: ordersView, nav: "orders", title: "Orders" },
  { pattern: /^#\/orders\/([^/?]+)$/, view: orderView, nav: "orders", title: "Order" },
  { pattern: /^#\/stock$/, view: stockView, nav: "stock", title: "Stock" },
];

const main = document.getElementById("main");
const flashBox = document.getElementById("flash");

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

function drawNav(current) {
  const nav = document.getElementById("nav");
  const link = (name, href, text) =>
    h("a", { href, testid: `nav-${name}`, "aria-current": current === name ? "page" : null }, text);
  const items = [];
  if (adminSession.token) {
    items.push(
      link("orders", "#/orders", "Orders"),
      link("stock", "#/stock", "Stock"),
      h("span", { class: "who", testid: "nav-user" }, adminSession.username),
      h("button", { type: "button", class: "link", testid: "nav-logout", onclick: logOut }, "Log out"),
    );
  }
  items.push(h("a", { href: "../", testid: "nav-storefront" }, "Storefront"));
  nav.replaceChildren(...items);
}

function logOut() {
  adminSession.signOut();
  flashNext("You are logged out.");
  navigate("#/login");
}

handleSessionExpired(() => {
  if (!adminSession.token) return;
  adminSession.signOut();
  rememberReturnTo(location.hash);
  flashNext(SESSION_EXPIRED, "error");
  navigate("#/login");
});

function render({ moveFocus = false } = {}) {
  const hash = location.hash || "#/orders";
  const route = ROUTES.find((r) => r.pattern.test(hash));
  if (!route) {
    navigate("#/orders");
    return;
  }
  if (!route.public && !adminSession.token) {
    rememberReturnTo(hash);
    navigate("#/login");
    return;
  }
  const params = hash.match(route.pattern).slice(1).map((p) => p ?? ""); // still URI-encoded

  const flash = takeFlash();
  if (flash) showFlash(flash.message, flash.kind);
  else clearFlash();
  drawNav(route.nav);
  document.title = `${route.title} · Back office · Alipay Shop`;

  const context = { params, navigate, showFlash, clearFlash };
  main.replaceChildren(route.view(context));
  if (moveFocus) main.focus();
}

window.addEventListener("hashchange", () => render({ moveFocus: true }));
render();

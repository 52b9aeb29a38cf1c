// A tiny element builder: text is always set as text, so data from the API cannot inject HTML.

import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "testid") el.dataset.testid = value;
    else if (key === "data") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/** Disable a button while `work` runs, so a double click sends one request. */
export async function whileBusy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** What a region shows while its data is on the way. */
export function loading() {
  return h("p", { class: "loading", role: "status", testid: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("loading"));
}

/**
 * Fill `region` with what `build()` resolves to, showing the loading state meanwhile; on an
 * error, a sentence (through `showError`) and a retry button.
 */
export async function fillWhileLoading(region, build, showError) {
  region.setAttribute("aria-busy", "true");
  region.replaceChildren(loading());
  try {
    region.replaceChildren(await build());
  } catch (error) {
    const retry = h("button", { type: "button", testid: "retry", onclick: () => fillWhileLoading(region, build, showError) }, t("load.retry"));
    region.replaceChildren(h("div", { class: "load-failed", testid: "load-failed" }, h("p", {}, t("load.failed")), retry));
    if (error?.status !== 401) await showError(error);
  } finally {
    region.removeAttribute("aria-busy");
  }
}

/** A picture of a goods, or a drawn placeholder when it has none (or it fails to load). */
export function picture(goods, className = "picture") {
  const placeholder = () =>
    h("div", { class: `${className} placeholder`, role: "img", "aria-label": `${goods.name}: ${t("picture.none")}`, testid: "picture-placeholder" },
      h("span", { "aria-hidden": "true" }, (goods.name || "?").trim().charAt(0).toUpperCase()));
  if (!goods.image_url) return placeholder();
  const img = h("img", { class: className, src: goods.image_url, alt: goods.name, loading: "lazy", testid: "picture", width: "240", height: "240" });
  img.addEventListener("error", () => img.replaceWith(placeholder()));
  return img;
}

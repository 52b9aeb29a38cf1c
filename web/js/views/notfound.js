// Any address the storefront does not know.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export async function notFoundView() {
  return h("section", { class: "not-found", testid: "not-found-page" },
    h("h1", {}, t("notFound.title")),
    h("p", { class: "muted" }, t("notFound.text")),
    h("p", {}, h("a", { class: "button primary", href: "#/", testid: "not-found-home" }, t("notFound.home"))));
}

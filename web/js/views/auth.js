// Log in and register. Registering logs the new user in straight away.

import { api } from "../api.js";
import { formValues, h, whileBusy } from "../dom.js";
import { t } from "../i18n.js";
import { flashNext, session, takeReturnTo } from "../state.js";

function credentialsForm(kind, title, submitLabel, onSubmit) {
  const headingId = `${kind}-heading`;
  const form = h(
    "form",
    { class: "card auth-form", testid: `${kind}-form`, autocomplete: "on", "aria-labelledby": headingId },
    h("h2", { id: headingId }, title),
    h("label", {}, t("auth.username"),
      h("input", { name: "username", required: true, autocomplete: "username", testid: `${kind}-username` })),
    h("label", {}, t("auth.password"),
      h("input", {
        name: "password", type: "password", required: true, testid: `${kind}-password`,
        autocomplete: kind === "login" ? "current-password" : "new-password",
      })),
    h("button", { type: "submit", class: "primary", testid: `${kind}-submit` }, submitLabel),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(form.querySelector("button"), () => onSubmit(formValues(form)));
  });
  return form;
}

export async function authView(context) {
  async function logIn({ username, password }) {
    const token = await api.logIn(username, password);
    session.signIn(token.access_token, username);
    flashNext(t("auth.welcome", { name: username }), "success");
    context.navigate(takeReturnTo());
  }

  async function logInSafely(values) {
    try {
      await logIn(values);
    } catch (error) {
      await context.showError(error);
    }
  }

  async function register(values) {
    try {
      await api.register(values.username, values.password);
      await logIn(values);
    } catch (error) {
      await context.showError(error);
    }
  }

  return h(
    "section",
    { testid: "auth-page" },
    h("h1", { class: "visually-hidden" }, t("auth.login")),
    h("div", { class: "auth" },
      credentialsForm("login", t("auth.login"), t("auth.login"), logInSafely),
      credentialsForm("register", t("auth.register"), t("auth.create"), register)),
  );
}

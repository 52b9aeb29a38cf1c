// Log in and register. Registering logs the new user in straight away.

import { api } from "../api.js";
import { formValues, h, whileBusy } from "../dom.js";
import { flashNext, session, takeReturnTo } from "../state.js";

function credentialsForm(kind, title, submitLabel, onSubmit) {
  const form = h(
    "form",
    { class: "card auth-form", testid: `${kind}-form`, autocomplete: "on" },
    h("h2", {}, title),
    h("label", {}, "Username",
      h("input", { name: "username", required: true, autocomplete: "username", testid: `${kind}-username` })),
    h("label", {}, "Password",
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
    flashNext(`Welcome, ${username}!`, "success");
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
    { class: "auth", testid: "auth-page" },
    credentialsForm("login", "Log in", "Log in", logInSafely),
    credentialsForm("register", "New here? Register", "Create account", register),
  );
}

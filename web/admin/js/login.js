// Log in. Admins log in at the shop's usual token route; the back office then asks for one order
// to learn whether the account is an admin's, and keeps no session for an account that is not.

import { formValues, h, whileBusy } from "../../js/dom.js";
import { adminApi } from "./api.js";
import { messageFor } from "./messages.js";
import { adminSession, flashNext, takeReturnTo } from "./session.js";

export function loginView(context) {
  const form = h(
    "form",
    { class: "card login", testid: "login-form", autocomplete: "on" },
    h("h1", {}, "Back office"),
    h("p", { class: "muted" }, "For the shop's admins. Log in with your admin account."),
    h("label", {}, "Username",
      h("input", { name: "username", required: true, autocomplete: "username", testid: "login-username" })),
    h("label", {}, "Password",
      h("input", { name: "password", type: "password", required: true, autocomplete: "current-password",
        testid: "login-password" })),
    h("button", { type: "submit", class: "primary", testid: "login-submit" }, "Log in"),
  );

  async function logIn({ username, password }) {
    context.clearFlash();
    try {
      const token = await adminApi.logIn(username, password);
      adminSession.signIn(token.access_token, username);
      await adminApi.searchOrders({ limit: 1 });
    } catch (error) {
      if (error.code === "forbidden" || error.status === 401) adminSession.signOut();
      context.showFlash(messageFor(error), "error");
      return;
    }
    flashNext(`Welcome, ${username}.`, "success");
    context.navigate(takeReturnTo());
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(form.querySelector("button"), () => logIn(formValues(form)));
  });
  return h("section", { testid: "login-page" }, form);
}

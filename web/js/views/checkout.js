// Checkout: the selected cart items with freight and the full amount, an address (pick one or
// add one) and a pay method. Placing the order sends an Idempotency-Key; an Alipay order goes on
// to the cashier page, its button naming the amount to pay.

import { api } from "../api.js";
import { formValues, h, whileBusy } from "../dom.js";
import { t } from "../i18n.js";
import { messageFor } from "../messages.js";
import { formatCents, formatMoney, toCents } from "../money.js";
import { flashNext, forgetOrderAttempt, idempotencyKeyFor, rememberPaying } from "../state.js";
import { amounts, selectedTotal } from "./cart.js";

const ADDRESS_FIELDS = [
  ["receiver", "name", "text"],
  ["mobile", "tel", "tel"],
  ["province", "address-level1", "text"],
  ["city", "address-level2", "text"],
  ["district", "address-level3", "text"],
  ["place", "street-address", "text"],
];

function describeAddress(a) {
  return `${a.receiver}, ${a.mobile} — ${a.place}, ${a.district}, ${a.city}, ${a.province}`;
}

/** Ask for the Alipay link and leave for the cashier page. Used by the order pages too. */
export async function payWithAlipay(orderId) {
  const channel = matchMedia("(max-width: 700px)").matches ? "wap" : "page";
  const { pay_url: payUrl } = await api.startPayment(orderId, channel);
  rememberPaying(orderId);
  location.href = payUrl;
}

export async function checkoutView(context) {
  const [cart, addressBook] = await Promise.all([api.getCart(), api.listAddresses()]);
  const items = cart.items.filter((item) => item.selected);
  if (!items.length) {
    return h("section", { testid: "checkout-page" }, h("h1", {}, t("checkout.title")),
      h("p", { class: "muted" }, t("checkout.nothing"), " ", h("a", { href: "#/cart" }, t("checkout.backToCart"))));
  }
  const itemsCents = selectedTotal(cart.items);
  const totalText = formatCents(itemsCents + toCents(cart.freight));

  const addresses = [...addressBook.items];
  const addressList = h("div", { class: "addresses", testid: "address-list", role: "radiogroup", "aria-labelledby": "deliver-to" });
  const addressForm = newAddressForm();
  addressForm.hidden = addresses.length > 0;

  function drawAddresses(selectedId) {
    addressList.replaceChildren(
      ...addresses.map((address, index) =>
        h("label", { class: "option", testid: "address-option", data: { addressId: address.id } },
          h("input", { type: "radio", name: "address_id", value: String(index),
            checked: selectedId === undefined ? index === addresses.length - 1 : address.id === selectedId }),
          h("span", {}, describeAddress(address)))),
      h("button", { type: "button", class: "link", testid: "address-add",
        onclick: () => { addressForm.hidden = false; addressForm.querySelector("input").focus(); } }, `+ ${t("checkout.addAddress")}`),
    );
  }

  function newAddressForm() {
    const form = h("form", { class: "card address-form", testid: "address-form", "aria-labelledby": "new-address" },
      h("h3", { id: "new-address" }, t("checkout.newAddress")),
      ADDRESS_FIELDS.map(([name, autocomplete, type]) =>
        h("label", {}, t(`address.${name}`), h("input", { name, type, required: true, autocomplete, testid: `address-${name}` }))),
      h("button", { type: "submit", testid: "address-save" }, t("checkout.saveAddress")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      whileBusy(form.querySelector("button"), async () => {
        try {
          const address = await api.createAddress(formValues(form));
          addresses.push(address);
          drawAddresses(address.id);
          form.reset();
          form.hidden = true;
          context.showFlash(t("checkout.addressSaved"), "success");
        } catch (error) {
          await context.showError(error);
        }
      });
    });
    return form;
  }

  const placeButton = h("button", { type: "button", class: "primary wide", testid: "place-order" });
  const payMethods = h("fieldset", { class: "pay-methods" }, h("legend", {}, t("checkout.payWith")),
    h("label", { class: "option" },
      h("input", { type: "radio", name: "pay_method", value: "alipay", checked: true, testid: "pay-alipay" }), t("checkout.alipay")),
    h("label", { class: "option" },
      h("input", { type: "radio", name: "pay_method", value: "cash", testid: "pay-cash" }), t("checkout.cash")));
  const payMethod = () => payMethods.querySelector("input[name=pay_method]:checked").value;
  const labelButton = () => {
    placeButton.textContent = payMethod() === "cash"
      ? t("checkout.placeCash", { amount: totalText }) : t("checkout.payAlipay", { amount: totalText });
  };
  payMethods.addEventListener("change", labelButton);
  labelButton();
  placeButton.addEventListener("click", () => whileBusy(placeButton, placeOrder));

  async function placeOrder() {
    const chosen = addressList.querySelector("input[name=address_id]:checked");
    if (!chosen) {
      context.showFlash(t("checkout.chooseAddress"), "error");
      return;
    }
    const method = payMethod();
    const body = { address_id: addresses[Number(chosen.value)].id, pay_method: method };
    let order;
    try {
      order = await api.placeOrder(body, idempotencyKeyFor(body));
    } catch (error) {
      // A refusal (out of stock, bad address…) is an answer; a retry after fixing it is a new
      // order. Only when the outcome is unknown (network, 5xx) does the key stay for the retry.
      if (error.status >= 400 && error.status < 500) forgetOrderAttempt();
      await context.showError(error);
      return;
    }
    forgetOrderAttempt();
    context.refreshNav();
    if (method === "cash") {
      flashNext(t("checkout.cashPlaced"), "success");
      context.navigate(`#/orders/${encodeURIComponent(order.order_id)}`);
      return;
    }
    try {
      await payWithAlipay(order.order_id);
    } catch (error) {
      flashNext(t("checkout.placedBut", { reason: await messageFor(error) }), "error");
      context.navigate(`#/orders/${encodeURIComponent(order.order_id)}`);
    }
  }

  drawAddresses();
  return h("section", { class: "checkout", testid: "checkout-page" },
    h("h1", {}, t("checkout.title")),
    h("div", { class: "checkout-layout" },
      h("div", {},
        h("h2", { id: "deliver-to" }, t("checkout.deliverTo")),
        addressList,
        addressForm,
        payMethods),
      h("aside", { class: "card summary", "aria-labelledby": "summary-title" },
        h("h2", { id: "summary-title" }, t("checkout.summary")),
        h("ul", { class: "lines", testid: "checkout-items" }, items.map((i) =>
          h("li", {}, h("span", {}, i.name), h("span", { class: "muted" }, t("order.lineTotal", { count: i.count, price: formatMoney(i.price) }))))),
        amounts(itemsCents, cart.freight, "checkout"),
        placeButton)));
}

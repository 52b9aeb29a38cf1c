// Checkout: the selected cart items, an address (pick one or add one) and a pay method.
// Placing the order sends an Idempotency-Key; an Alipay order goes on to the cashier page.

import { api } from "../api.js";
import { formValues, h, whileBusy } from "../dom.js";
import { formatCents, formatMoney, toCents } from "../money.js";
import { messageFor } from "../messages.js";
import { flashNext, forgetOrderAttempt, idempotencyKeyFor } from "../state.js";

const ADDRESS_FIELDS = [
  ["receiver", "Receiver", "name"],
  ["mobile", "Mobile", "tel"],
  ["province", "Province", "address-level1"],
  ["city", "City", "address-level2"],
  ["district", "District", "address-level3"],
  ["place", "Street address", "street-address"],
];

function describeAddress(a) {
  return `${a.receiver}, ${a.mobile} — ${a.place}, ${a.district}, ${a.city}, ${a.province}`;
}

/** Ask for the Alipay link and leave for the cashier page. Used by the order page too. */
export async function payWithAlipay(orderId) {
  const channel = matchMedia("(max-width: 700px)").matches ? "wap" : "page";
  const { pay_url: payUrl } = await api.startPayment(orderId, channel);
  location.href = payUrl;
}

export async function checkoutView(context) {
  const [cart, addressBook] = await Promise.all([api.getCart(), api.listAddresses()]);
  const items = cart.items.filter((item) => item.selected);
  if (!items.length) {
    return h("section", { testid: "checkout-page" }, h("h1", {}, "Checkout"),
      h("p", { class: "muted" }, "Nothing is selected in your cart. ", h("a", { href: "#/cart" }, "Back to the cart")));
  }

  const addresses = [...addressBook.items];
  const addressList = h("div", { class: "addresses", testid: "address-list" });
  const addressForm = newAddressForm();
  addressForm.hidden = addresses.length > 0;

  function drawAddresses(selectedId) {
    addressList.replaceChildren(
      ...addresses.map((address, index) =>
        h("label", { class: "option", testid: "address-option", data: { addressId: address.id } },
          h("input", { type: "radio", name: "address_id", value: String(index),
            checked: selectedId === undefined ? index === addresses.length - 1 : address.id === selectedId }),
          describeAddress(address))),
      h("button", { type: "button", class: "link", testid: "address-add",
        onclick: () => { addressForm.hidden = false; } }, "+ Add a new address"),
    );
  }

  function newAddressForm() {
    const form = h("form", { class: "card address-form", testid: "address-form" },
      h("h3", {}, "New address"),
      ADDRESS_FIELDS.map(([name, label, autocomplete]) =>
        h("label", {}, label, h("input", { name, required: true, autocomplete, testid: `address-${name}` }))),
      h("button", { type: "submit", testid: "address-save" }, "Save address"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      whileBusy(form.querySelector("button"), async () => {
        try {
          const address = await api.createAddress(formValues(form));
          addresses.push(address);
          drawAddresses(address.id);
          form.reset();
          form.hidden = true;
          context.showFlash("Address saved.", "success");
        } catch (error) {
          await context.showError(error);
        }
      });
    });
    return form;
  }

  const payMethods = h("fieldset", { class: "pay-methods" }, h("legend", {}, "Pay with"),
    h("label", { class: "option" },
      h("input", { type: "radio", name: "pay_method", value: "alipay", checked: true, testid: "pay-alipay" }), "Alipay"),
    h("label", { class: "option" },
      h("input", { type: "radio", name: "pay_method", value: "cash", testid: "pay-cash" }), "Cash on delivery"));

  const placeButton = h("button", { type: "button", class: "primary", testid: "place-order" }, "Place order");
  placeButton.addEventListener("click", () => whileBusy(placeButton, placeOrder));

  async function placeOrder() {
    const chosen = addressList.querySelector("input[name=address_id]:checked");
    if (!chosen) {
      context.showFlash("Please choose or add a delivery address.", "error");
      return;
    }
    const payMethod = payMethods.querySelector("input[name=pay_method]:checked").value;
    const body = { address_id: addresses[Number(chosen.value)].id, pay_method: payMethod };
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
    if (payMethod === "cash") {
      flashNext("Order placed. Please pay the courier on delivery.", "success");
      context.navigate(`#/orders/${encodeURIComponent(order.order_id)}`);
      return;
    }
    try {
      await payWithAlipay(order.order_id);
    } catch (error) {
      flashNext(`Your order is placed, but: ${await messageFor(error)}`, "error");
      context.navigate(`#/orders/${encodeURIComponent(order.order_id)}`);
    }
  }

  drawAddresses();
  const subtotal = items.reduce((sum, i) => sum + toCents(i.price) * i.count, 0);
  return h("section", { class: "checkout", testid: "checkout-page" },
    h("h1", {}, "Checkout"),
    h("table", { class: "table", testid: "checkout-items" },
      h("tbody", {}, items.map((i) => h("tr", {},
        h("td", {}, i.name), h("td", {}, `× ${i.count}`), h("td", {}, formatMoney(i.price)))))),
    h("p", {}, "Items: ", h("strong", {}, formatCents(subtotal)), h("span", { class: "muted" }, " + freight, shown on the order")),
    h("h2", {}, "Deliver to"),
    addressList,
    addressForm,
    payMethods,
    placeButton);
}

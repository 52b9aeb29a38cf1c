// One goods: its picture and description, its variants (the SKUs of the goods) to choose from,
// a quantity, and "add to cart".

import { api } from "../api.js";
import { h, picture, whileBusy } from "../dom.js";
import { t } from "../i18n.js";
import { formatMoney } from "../money.js";
import { catalogPlace, flashNext, rememberReturnTo, session, skuNames } from "../state.js";

export async function goodsView(context) {
  const [goodsId] = context.params;
  const goods = await api.getGoods(goodsId);
  goods.skus.forEach((sku) => skuNames.set(sku.id, sku.name));
  const firstInStock = goods.skus.find((sku) => sku.stock > 0) || goods.skus[0];
  let chosen = firstInStock;

  const price = h("p", { class: "price big", testid: "variant-price" });
  const stock = h("p", { class: "muted", testid: "variant-stock" });
  const quantity = h("input", { type: "number", id: "goods-quantity", min: "1", value: "1", inputmode: "numeric", testid: "goods-quantity" });
  const addButton = h("button", { type: "button", class: "primary wide", testid: "add-to-cart" });

  const variants = h("fieldset", { class: "variants", testid: "variants" },
    h("legend", {}, t("goods.variant")),
    goods.skus.map((sku) => {
      const input = h("input", { type: "radio", name: "sku", value: String(sku.id), checked: sku === chosen,
        testid: "variant-input", onchange: () => { chosen = sku; update(); } });
      return h("label", { class: "variant", testid: "variant", data: { skuId: sku.id } }, input,
        h("span", { class: "variant-name" }, sku.name),
        h("span", { class: "muted small" }, formatMoney(sku.price)));
    }));

  function clampQuantity() {
    const wanted = Number.parseInt(quantity.value, 10) || 1;
    const value = Math.max(1, Math.min(wanted, Math.max(1, chosen.stock)));
    quantity.value = String(value);
    return value;
  }

  function update() {
    const soldOut = chosen.stock <= 0;
    price.textContent = formatMoney(chosen.price);
    stock.textContent = soldOut ? t("goods.outOfStock") : t("goods.inStock", { count: chosen.stock });
    quantity.max = String(Math.max(1, chosen.stock));
    quantity.disabled = soldOut;
    addButton.disabled = soldOut;
    addButton.textContent = soldOut ? t("goods.soldOut") : t("goods.add");
    clampQuantity();
  }

  const step = (delta) => { quantity.value = String((Number.parseInt(quantity.value, 10) || 1) + delta); clampQuantity(); };
  const stepper = h("div", { class: "stepper" },
    h("button", { type: "button", "aria-label": t("goods.fewer"), testid: "quantity-decrease", onclick: () => step(-1) }, "−"),
    quantity,
    h("button", { type: "button", "aria-label": t("goods.more"), testid: "quantity-increase", onclick: () => step(1) }, "+"));
  quantity.addEventListener("change", clampQuantity);

  addButton.addEventListener("click", () => whileBusy(addButton, async () => {
    if (!session.token) {
      rememberReturnTo(location.hash);
      flashNext(t("goods.loginFirst"));
      context.navigate("#/login");
      return;
    }
    try {
      const count = clampQuantity();
      const cart = await api.getCart();
      const inCart = cart.items.find((item) => item.sku_id === chosen.id);
      await api.putCartItem(chosen.id, (inCart?.count || 0) + count, true);
      context.showFlash(t("goods.added", { name: chosen.name }), "success");
      context.refreshNav();
    } catch (error) {
      await context.showError(error);
    }
    update();
  }));

  update();
  return h("section", { class: "goods-page", testid: "goods-page", data: { goodsId: goods.id } },
    h("p", { class: "crumbs" }, h("a", { href: catalogPlace.hash, testid: "back-to-shop" }, `← ${t("goods.back")}`)),
    h("div", { class: "goods-layout" },
      picture(goods, "picture large"),
      h("div", { class: "goods-info" },
        h("h1", { testid: "goods-title" }, goods.name),
        goods.description ? h("p", { class: "description", testid: "goods-description" }, goods.description) : null,
        h("p", { class: "muted small" }, t("catalog.sold", { count: goods.sales })),
        variants,
        price,
        stock,
        h("label", { for: "goods-quantity", class: "field-label" }, t("goods.quantity")),
        stepper,
        addButton)));
}

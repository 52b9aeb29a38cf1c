"""The storefront's reads: goods with their SKUs (search, pages, lowest price, sales summed from
the SKUs), one goods, load-catalog's descriptions and pictures, the /media/ folder, my orders a
page at a time with a status filter, and the cart's freight. PostgreSQL and Redis."""

import asyncio
import json
import uuid

import pytest

from order_service.storage.tables import skus
from tests.order_service.conftest import migrated_database, run_module
from tests.order_service.test_api import assert_problem

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def goods_named(shop, name: str) -> dict:
    found = (await shop.client.get("/api/goods", params={"q": name})).json()
    assert found["total"] == 1, found
    return found["items"][0]


async def test_a_goods_lists_its_skus_its_lowest_price_and_the_sum_of_their_sales(shop):
    name = f"Teapot {tag()}"
    small, large = await shop.add_skus(9, 4, price="30.00", goods_name=name)
    async with shop.sessions() as session, session.begin():
        await session.execute(skus.update().where(skus.c.id == small).values(price="12.50"))
    buyer = await shop.buyer()
    assert (await shop.order(buyer, [(small, 2), (large, 3)], pay_method="cash")).status_code == 201
    assert (await shop.order(buyer, [(large, 1)], pay_method="cash")).status_code == 201

    goods = await goods_named(shop, name)
    assert goods["name"] == name
    assert goods["min_price"] == "12.50"
    assert goods["sales"] == 6  # 2 + 3 + 1, over both SKUs
    assert goods["description"] is None and goods["image_url"] is None
    assert [(s["id"], s["price"], s["stock"], s["sales"]) for s in goods["skus"]] == [
        (small, "12.50", 7, 2),
        (large, "30.00", 0, 4),
    ]
    one = await shop.client.get(f"/api/goods/{goods['id']}")
    assert one.status_code == 200
    assert one.json() == goods


async def test_search_matches_goods_and_sku_names_case_insensitively_and_literally(shop):
    word = tag()
    await shop.add_skus(1, 1, goods_name=f"Lantern {word}")
    await shop.add_skus(1, goods_name=f"Paper 100% {word}")
    by_goods = (await shop.client.get("/api/goods", params={"q": f"LANTERN {word}"})).json()
    assert [g["name"] for g in by_goods["items"]] == [f"Lantern {word}"]
    assert by_goods["total"] == 1
    assert len(by_goods["items"][0]["skus"]) == 2
    # add_skus names the SKUs "sku <its own tag> <n>": the word is only in the goods names
    both = (await shop.client.get("/api/goods", params={"q": word})).json()
    assert both["total"] == 2
    percent = (await shop.client.get("/api/goods", params={"q": f"100% {word}"})).json()
    assert [g["name"] for g in percent["items"]] == [f"Paper 100% {word}"]
    # % and _ are letters here, not wildcards
    assert (await shop.client.get("/api/goods", params={"q": f"%{word}"})).json()["total"] == 0
    assert (await shop.client.get("/api/goods", params={"q": f"Lantern_{word}"})).json()[
        "total"
    ] == 0
    sku_name = (await goods_named(shop, f"Lantern {word}"))["skus"][1]["name"]
    by_sku = (await shop.client.get("/api/goods", params={"q": sku_name.upper()})).json()
    assert [g["name"] for g in by_sku["items"]] == [f"Lantern {word}"]


async def test_goods_come_a_page_at_a_time_with_the_total(shop):
    word = tag()
    for n in range(5):
        await shop.add_skus(1, goods_name=f"Page {word} {n}")
    first = (await shop.client.get("/api/goods", params={"q": word, "limit": 2})).json()
    last = (await shop.client.get("/api/goods", params={"q": word, "offset": 4})).json()
    assert first["total"] == last["total"] == 5
    assert [g["name"] for g in first["items"]] == [f"Page {word} 0", f"Page {word} 1"]
    assert [g["name"] for g in last["items"]] == [f"Page {word} 4"]
    everything = (await shop.client.get("/api/goods", params={"limit": 100})).json()
    assert everything["total"] >= 5 and len(everything["items"]) == min(everything["total"], 100)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"q": "x" * 101}, {"q": "a\x00b"}],
)
async def test_bad_goods_queries_are_problems(shop, params):
    assert_problem(await shop.client.get("/api/goods", params=params), 422, "validation_error")


async def test_an_unknown_goods_is_goods_not_found(shop):
    body = assert_problem(await shop.client.get("/api/goods/2147483000"), 404, "goods_not_found")
    assert body["goods_id"] == 2147483000
    assert_problem(await shop.client.get("/api/goods/0"), 422, "validation_error")
    assert_problem(await shop.client.get("/api/goods/abc"), 422, "validation_error")


async def test_load_catalog_takes_descriptions_and_pictures(make_shop, pg_databases, tmp_path):
    media = tmp_path / "media"
    url = await migrated_database(pg_databases)
    env = {"ORDER_DATABASE_URL": url, "ORDER_MEDIA_DIR": str(media)}
    folder = tmp_path / "catalog"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "pot.svg").write_bytes(SVG)
    catalog = folder / "catalog.json"
    entries = [
        {"name": "Pot — small", "goods": "Pot", "price": "10.00", "stock": 3,
         "description": "A clay pot.", "image": "images/pot.svg"},
        {"name": "Pot — large", "goods": "Pot", "price": "20.00", "stock": 3},
        {"name": "Cup", "price": "5.00", "stock": 3, "image": "https://img.example/cup.png"},
    ]  # fmt: skip
    catalog.write_text(json.dumps(entries))
    assert "3 created" in await asyncio.to_thread(
        run_module, "order_service", "load-catalog", str(catalog), env=env
    )
    shop = await make_shop(database_url=url, media_dir=media)
    pot = await goods_named(shop, "Pot")
    cup = await goods_named(shop, "Cup")
    assert pot["description"] == "A clay pot." and len(pot["skus"]) == 2
    assert pot["image_url"].startswith("/media/") and pot["image_url"].endswith(".svg")
    assert cup["image_url"] == "https://img.example/cup.png" and cup["description"] is None

    picture = await shop.client.get(pot["image_url"])
    assert picture.status_code == 200 and picture.content == SVG
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in picture.headers["content-security-policy"]
    assert picture.headers["x-content-type-options"] == "nosniff"
    assert_problem(await shop.client.get("/media/nothing.png"), 404, "not_found")

    # Again without the description: kept; a new description replaces it.
    entries[0].pop("description")
    entries[1]["description"] = "Clay pots, two sizes."
    catalog.write_text(json.dumps(entries))
    assert "3 updated" in await asyncio.to_thread(
        run_module, "order_service", "load-catalog", str(catalog), env=env
    )
    pot_again = await goods_named(shop, "Pot")
    assert pot_again["description"] == "Clay pots, two sizes."
    assert pot_again["image_url"] == pot["image_url"]
    assert [p.name for p in media.iterdir()] == [pot["image_url"].removeprefix("/media/")]


@pytest.mark.parametrize(
    "image", ["images/missing.svg", "catalog.txt", "javascript:alert(1)", "../outside.exe"]
)
async def test_load_catalog_refuses_a_picture_it_cannot_use(pg_databases, tmp_path, image):
    url = await migrated_database(pg_databases)
    env = {"ORDER_DATABASE_URL": url, "ORDER_MEDIA_DIR": str(tmp_path / "media")}
    (tmp_path / "catalog.txt").write_text("not a picture")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([{"name": "Pot", "price": "1.00", "stock": 1, "image": image}]))
    with pytest.raises(AssertionError, match="image"):
        await asyncio.to_thread(run_module, "order_service", "load-catalog", str(catalog), env=env)
    assert not (tmp_path / "media").exists()


async def test_my_orders_come_a_page_at_a_time_with_a_status_filter(shop):
    [sku] = await shop.add_skus(50)
    buyer, other = await shop.buyer(), await shop.buyer()
    placed = []
    for pay_method in ("cash", "alipay", "cash", "alipay", "alipay"):
        response = await shop.order(buyer, [(sku, 1)], pay_method=pay_method)
        assert response.status_code == 201, response.text
        placed.append(response.json())
    assert (await shop.order(other, [(sku, 1)], pay_method="cash")).status_code == 201
    newest_first = [o["order_id"] for o in reversed(placed)]

    async def page(**params):
        response = await shop.client.get("/api/orders", params=params, headers=buyer.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [o["order_id"] for o in body["items"]], body["total"]

    assert await page() == (newest_first, 5)
    assert await page(limit=2) == (newest_first[:2], 5)
    assert await page(offset=4, limit=2) == (newest_first[4:], 5)
    unpaid = [o["order_id"] for o in reversed(placed) if o["pay_method"] == "alipay"]
    assert await page(status="unpaid") == (unpaid, 3)
    assert await page(status="unsent", limit=1) == (newest_first[2:3], 2)
    assert await page(status="refunded") == ([], 0)
    for bad in ({"status": "paid"}, {"limit": 0}, {"limit": 101}, {"offset": -1}):
        response = await shop.client.get("/api/orders", params=bad, headers=buyer.headers)
        assert_problem(response, 422, "validation_error")


async def test_the_cart_tells_the_freight(shop):
    buyer = await shop.buyer()
    cart = (await shop.client.get("/api/cart", headers=buyer.headers)).json()
    assert cart == {"items": [], "freight": "10.00"}

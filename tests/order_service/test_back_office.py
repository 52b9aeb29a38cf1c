"""The merchant's back office and the buyer's after-sale steps, through HTTP on PostgreSQL:
admins, order search, shipping, receipt, comments, catalog admin and stock adjustments."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from order_service.storage.tables import orders
from tests.order_service.conftest import assert_conserved, migrated_database, run_module
from tests.order_service.test_api import assert_problem

ADMIN_ROUTES = [
    ("GET", "/api/admin/orders", None),
    ("GET", "/api/admin/orders/20260101000000000001abc", None),
    (
        "POST",
        "/api/admin/orders/20260101000000000001abc/ship",
        {"carrier": "SF", "tracking_no": "1"},
    ),
    (
        "POST",
        "/api/admin/orders/20260101000000000001abc/refunds",
        {"amount": "1.00", "reason": "x"},
    ),
    ("GET", "/api/admin/orders/20260101000000000001abc/refunds", None),
    ("POST", "/api/admin/skus", {"name": "n", "price": "1.00", "stock": 1, "goods": "g"}),
    ("PATCH", "/api/admin/skus/1", {"stock_delta": 1}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_admin_routes_need_an_admin(shop, method, path, body):
    assert_problem(await shop.client.request(method, path, json=body), 401, "unauthorized")
    buyer = await shop.buyer()
    answer = await shop.client.request(method, path, json=body, headers=buyer.headers)
    assert_problem(answer, 403, "forbidden")


async def test_ship_receive_comment_finish_with_409_for_each_wrong_step(shop):
    admin, buyer, other = await shop.admin(), await shop.buyer(), await shop.buyer()
    a, b = await shop.add_skus(5, 5)
    order = (await shop.order(buyer, [(a, 1), (b, 2)], pay_method="cash")).json()
    url = f"/api/orders/{order['order_id']}"
    admin_url = f"/api/admin/orders/{order['order_id']}"
    comments = {"items": [{"sku_id": a, "score": 5, "comment": "good"}, {"sku_id": b, "score": 3}]}

    # not shipped yet: it cannot be received or commented
    assert_problem(
        await shop.client.post(f"{url}/receive", headers=buyer.headers), 409, "order_not_receivable"
    )
    assert_problem(
        await shop.client.post(f"{url}/comments", json=comments, headers=buyer.headers),
        409,
        "order_not_commentable",
    )

    shipped = await shop.client.post(
        f"{admin_url}/ship",
        json={"carrier": "SF Express", "tracking_no": "SF123"},
        headers=admin.headers,
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "unreceived"
    assert shipped.json()["shipment"]["carrier"] == "SF Express"
    assert shipped.json()["shipment"]["tracking_no"] == "SF123"
    assert_problem(
        await shop.client.post(
            f"{admin_url}/ship", json={"carrier": "SF", "tracking_no": "X"}, headers=admin.headers
        ),
        409,
        "order_not_shippable",
    )
    mine = (await shop.client.get(url, headers=buyer.headers)).json()
    assert mine["status"] == "unreceived" and mine["shipment"]["tracking_no"] == "SF123"

    # another buyer's order is not found, for every step
    assert_problem(
        await shop.client.post(f"{url}/receive", headers=other.headers), 404, "order_not_found"
    )
    received = await shop.client.post(f"{url}/receive", headers=buyer.headers)
    assert received.status_code == 200 and received.json()["status"] == "uncomment"
    assert_problem(
        await shop.client.post(f"{url}/receive", headers=buyer.headers), 409, "order_not_receivable"
    )

    # one comment per line: a missing or foreign line is refused and changes nothing
    partial = {"items": comments["items"][:1]}
    assert_problem(
        await shop.client.post(f"{url}/comments", json=partial, headers=buyer.headers),
        422,
        "comments_do_not_match_lines",
    )
    bad_score = {"items": [{"sku_id": a, "score": 6}, {"sku_id": b, "score": 3}]}
    assert_problem(
        await shop.client.post(f"{url}/comments", json=bad_score, headers=buyer.headers),
        422,
        "validation_error",
    )
    assert_problem(
        await shop.client.post(f"{url}/comments", json=comments, headers=other.headers),
        404,
        "order_not_found",
    )
    done = await shop.client.post(f"{url}/comments", json=comments, headers=buyer.headers)
    assert done.status_code == 200 and done.json()["status"] == "finished"
    assert_problem(
        await shop.client.post(f"{url}/comments", json=comments, headers=buyer.headers),
        409,
        "order_not_commentable",
    )
    assert_problem(
        await shop.client.post(f"{url}/cancel", headers=buyer.headers), 409, "order_not_cancelable"
    )


async def test_an_unpaid_order_cannot_be_shipped(shop):
    admin, buyer = await shop.admin(), await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    answer = await shop.client.post(
        f"/api/admin/orders/{order['order_id']}/ship",
        json={"carrier": "SF", "tracking_no": "1"},
        headers=admin.headers,
    )
    assert_problem(answer, 409, "order_not_shippable")
    missing = await shop.client.post(
        "/api/admin/orders/20990101000000000001deadbeef00/ship",
        json={"carrier": "SF", "tracking_no": "1"},
        headers=admin.headers,
    )
    assert_problem(missing, 404, "order_not_found")


async def test_admin_search_filters_and_pages_newest_first(make_shop):
    shop = await make_shop()
    admin, ann, bob = await shop.admin(), await shop.buyer(), await shop.buyer()
    (sku,) = await shop.add_skus(100, price="1.00")
    placed = []
    for buyer, method in [(ann, "cash"), (bob, "alipay"), (ann, "alipay"), (bob, "cash")]:
        placed.append((await shop.order(buyer, [(sku, 1)], pay_method=method)).json())

    async def search(**params):
        answer = await shop.client.get("/api/admin/orders", params=params, headers=admin.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    everything = await search()
    assert everything["total"] == 4
    assert [o["order_id"] for o in everything["items"]] == [o["order_id"] for o in placed[::-1]]
    first = everything["items"][-1]
    assert first["username"] == ann.username and first["user_id"] == ann.user_id
    assert first["address"]["receiver"] == "Li Lei" and first["address"]["id"] == ann.address_id

    page = await search(offset=1, limit=2)
    assert page["total"] == 4
    assert [o["order_id"] for o in page["items"]] == [placed[2]["order_id"], placed[1]["order_id"]]
    unpaid = await search(status="unpaid")
    assert {o["order_id"] for o in unpaid["items"]} == {
        placed[1]["order_id"],
        placed[2]["order_id"],
    }
    assert (await search(user_id=bob.user_id))["total"] == 2
    assert (await search(q=ann.username[:12]))["total"] == 2
    by_id = await search(q=placed[3]["order_id"])
    assert [o["order_id"] for o in by_id["items"]] == [placed[3]["order_id"]]
    created = datetime.fromisoformat(placed[0]["created_at"])
    assert (await search(created_from=(created + timedelta(days=1)).isoformat()))["total"] == 0
    assert (await search(created_to=(created - timedelta(seconds=1)).isoformat()))["total"] == 0
    window = await search(
        created_from=(created - timedelta(minutes=1)).isoformat(),
        created_to=datetime.now(UTC).isoformat(),
    )
    assert window["total"] == 4
    assert_problem(
        await shop.client.get(
            "/api/admin/orders", params={"status": "lost"}, headers=admin.headers
        ),
        422,
        "validation_error",
    )
    detail = await shop.client.get(
        f"/api/admin/orders/{placed[1]['order_id']}", headers=admin.headers
    )
    assert detail.json()["username"] == bob.username and detail.json()["refunds"] == []


async def test_buyer_lists_own_orders_by_page_and_status(shop):
    buyer, other = await shop.buyer(), await shop.buyer()
    (sku,) = await shop.add_skus(100, price="1.00")
    placed = [
        (await shop.order(buyer, [(sku, 1)], pay_method=method)).json()
        for method in ("cash", "alipay", "cash")
    ]
    await shop.order(other, [(sku, 1)], pay_method="cash")
    listing = (await shop.client.get("/api/orders", headers=buyer.headers)).json()
    assert listing["total"] == 3 and listing["items"][0]["order_id"] == placed[2]["order_id"]
    page = (
        await shop.client.get(
            "/api/orders", params={"offset": 2, "limit": 1}, headers=buyer.headers
        )
    ).json()
    assert page["total"] == 3 and [o["order_id"] for o in page["items"]] == [placed[0]["order_id"]]
    unsent = (
        await shop.client.get("/api/orders", params={"status": "unsent"}, headers=buyer.headers)
    ).json()
    assert unsent["total"] == 2
    assert all(o["shipment"] is None and o["refunded_amount"] == "0.00" for o in unsent["items"])
    assert_problem(
        await shop.client.get("/api/orders", params={"limit": 101}, headers=buyer.headers),
        422,
        "validation_error",
    )


async def test_admin_creates_and_edits_skus(shop):
    admin = await shop.admin()
    goods = f"goods {uuid.uuid4().hex[:6]}"
    made = await shop.client.post(
        "/api/admin/skus",
        json={"name": "Tea 250g", "price": "30.00", "stock": 4, "goods": goods},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    sku = made.json()
    assert (sku["name"], sku["price"], sku["stock"], sku["sales"]) == ("Tea 250g", "30.00", 4, 0)
    url = f"/api/admin/skus/{sku['id']}"
    renamed = await shop.client.patch(
        url, json={"name": "Tea 500g", "price": "55.50"}, headers=admin.headers
    )
    assert renamed.json() == sku | {"name": "Tea 500g", "price": "55.50"}
    assert (await shop.client.patch(url, json={"stock_delta": 6}, headers=admin.headers)).json()[
        "stock"
    ] == 10
    assert (await shop.client.patch(url, json={"stock_delta": -10}, headers=admin.headers)).json()[
        "stock"
    ] == 0
    refused = await shop.client.patch(url, json={"stock_delta": -1}, headers=admin.headers)
    assert_problem(refused, 409, "insufficient_stock")
    assert (await shop.client.get(f"/api/skus/{sku['id']}")).json()["stock"] == 0
    assert_problem(
        await shop.client.patch(
            "/api/admin/skus/999999", json={"stock_delta": 1}, headers=admin.headers
        ),
        404,
        "sku_not_found",
    )
    for bad in ({"price": 1.5}, {"stock_delta": "1"}, {"sales": 3}, {"name": ""}):
        assert_problem(
            await shop.client.patch(url, json=bad, headers=admin.headers), 422, "validation_error"
        )


async def test_stock_adjustments_racing_checkouts_lose_nothing_and_never_oversell(make_shop):
    shop = await make_shop()
    admin = await shop.admin()
    (sku,) = await shop.add_skus(10, price="1.00")
    buyers = [await shop.buyer() for _ in range(30)]
    url = f"/api/admin/skus/{sku}"

    async def adjust(delta):
        return await shop.client.patch(url, json={"stock_delta": delta}, headers=admin.headers)

    answers = await asyncio.gather(
        *(shop.order(buyer, [(sku, 1)], pay_method="cash") for buyer in buyers),
        *(adjust(+1) for _ in range(10)),
        *(adjust(-1) for _ in range(5)),
    )
    orders_placed = sum(a.status_code == 201 for a in answers[:30])
    assert {a.status_code for a in answers[:30]} <= {201, 409}
    assert all(a.status_code == 200 for a in answers[30:40])
    taken = sum(a.status_code == 200 for a in answers[40:])
    assert {a.status_code for a in answers[40:]} <= {200, 409}
    stock = await shop.stock(sku)
    assert stock["stock"] >= 0
    assert stock["stock"] == 10 + 10 - taken - orders_placed
    assert stock["sales"] == orders_placed


async def test_create_admin_command_makes_and_promotes_admins(make_shop, pg_databases):
    url = await migrated_database(pg_databases)
    shop = await make_shop(database_url=url)
    env = {"ORDER_DATABASE_URL": url, "ORDER_ADMIN_PASSWORD": "merchant secret"}
    out = await asyncio.to_thread(run_module, "order_service", "create-admin", "boss", env=env)
    assert "created" in out
    token = await shop.client.post(
        "/api/auth/token", data={"username": "boss", "password": "merchant secret"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await shop.client.get("/api/admin/orders", headers=headers)).status_code == 200

    buyer = await shop.registered_buyer()  # password "correct horse"
    assert (await shop.client.get("/api/admin/orders", headers=buyer.headers)).status_code == 403
    env["ORDER_ADMIN_PASSWORD"] = "ignored for an existing user"
    out = await asyncio.to_thread(
        run_module, "order_service", "create-admin", buyer.username, env=env
    )
    assert "promoted" in out
    assert (await shop.client.get("/api/admin/orders", headers=buyer.headers)).status_code == 200
    again = await shop.client.post(
        "/api/auth/token", data={"username": buyer.username, "password": "correct horse"}
    )
    assert again.status_code == 200
    with pytest.raises(AssertionError, match="password"):
        await asyncio.to_thread(
            run_module,
            "order_service",
            "create-admin",
            "nobody_yet",
            env={"ORDER_DATABASE_URL": url, "ORDER_ADMIN_PASSWORD": ""},
        )


async def test_the_database_refuses_an_unknown_status(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(1)
    order = (await shop.order(buyer, [(sku, 1)], pay_method="cash")).json()
    with pytest.raises(IntegrityError, match="orders_status_known"):
        async with shop.sessions() as session, session.begin():
            await session.execute(
                update(orders).where(orders.c.order_id == order["order_id"]).values(status="lost")
            )
    await assert_conserved(shop.sessions, {sku: 1})

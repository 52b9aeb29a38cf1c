"""Users, catalog, addresses and cart through HTTP, on PostgreSQL and Redis."""

import asyncio

import pytest

from tests.order_service.conftest import ADDRESS, JWT_SECRET

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and body["type"]
    return body


async def test_register_login_and_use_the_token(shop):
    buyer = await shop.registered_buyer()
    response = await shop.client.get("/api/addresses", headers=buyer.headers)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["items"]] == [buyer.address_id]


async def test_token_answer_has_the_oauth2_shape(shop):
    await shop.client.post(
        "/api/auth/register", json={"username": "tok_user", "password": "pw123456"}
    )
    response = await shop.client.post(
        "/api/auth/token", data={"username": "tok_user", "password": "pw123456"}
    )
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["access_token"]


async def test_username_taken(shop):
    body = {"username": "same_name", "password": "pw123456"}
    assert (await shop.client.post("/api/auth/register", json=body)).status_code == 201
    assert_problem(await shop.client.post("/api/auth/register", json=body), 409, "username_taken")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "pw123456"},
        {"username": "ok_name"},
        {"username": "ok_name", "password": "short"},
        {"username": 12345, "password": "pw123456"},
        {"username": "has space", "password": "pw123456"},
    ],
)
async def test_register_refuses_malformed_bodies(shop, body):
    problem = assert_problem(
        await shop.client.post("/api/auth/register", json=body), 422, "validation_error"
    )
    assert problem["errors"]


async def test_wrong_password_and_unknown_user_are_invalid_credentials(shop):
    buyer = await shop.registered_buyer()
    wrong = await shop.client.post(
        "/api/auth/token", data={"username": buyer.username, "password": "not it"}
    )
    assert_problem(wrong, 401, "invalid_credentials")
    unknown = await shop.client.post(
        "/api/auth/token", data={"username": "nobody_here", "password": "whatever"}
    )
    assert_problem(unknown, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/addresses"),
        ("POST", "/api/addresses"),
        ("GET", "/api/cart"),
        ("PUT", "/api/cart/items/1"),
        ("DELETE", "/api/cart/items/1"),
        ("GET", "/api/orders"),
        ("POST", "/api/orders"),
        ("GET", "/api/orders/abc"),
        ("POST", "/api/orders/abc/payment"),
        ("POST", "/api/orders/abc/cancel"),
    ],
)
@pytest.mark.parametrize("token", [None, "garbage", "forged"])
async def test_authenticated_routes_need_a_valid_token(shop, method, path, token):
    import jwt

    headers = {}
    if token == "garbage":
        headers["Authorization"] = "Bearer not.a.token"
    elif token == "forged":
        forged = jwt.encode(
            {"sub": "1", "exp": 4102444800}, "someone else's secret, long enough for HS256", "HS256"
        )
        headers["Authorization"] = f"Bearer {forged}"
    response = await shop.client.request(method, path, headers=headers, json={})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_refused(shop):
    import jwt

    buyer = await shop.buyer()
    expired = jwt.encode(
        {"sub": str(buyer.user_id), "exp": 1000}, shop.app.state.settings.jwt_secret
    )
    response = await shop.client.get("/api/cart", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(response, 401, "unauthorized")


async def test_a_token_accepted_before_is_refused_once_it_expires(shop):
    """Tokens are verified once per process and remembered: the memory must honour expiry."""
    import time

    import jwt

    buyer = await shop.buyer()
    expires = int(time.time()) + 2
    token = jwt.encode({"sub": str(buyer.user_id), "exp": expires}, JWT_SECRET)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await shop.client.get("/api/cart", headers=headers)).status_code == 200
    await asyncio.sleep(max(0.0, expires + 1 - time.time()))
    assert_problem(await shop.client.get("/api/cart", headers=headers), 401, "unauthorized")


async def test_catalog_pages_and_single_sku(shop):
    sku_ids = await shop.add_skus(5, 7, 9, price="3.99")
    first = await shop.client.get("/api/skus", params={"offset": 0, "limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert page["total"] >= 3 and len(page["items"]) == 2
    one = (await shop.client.get(f"/api/skus/{sku_ids[1]}")).json()
    assert one == {"id": sku_ids[1], "name": one["name"], "price": "3.99", "stock": 7, "sales": 0}
    assert_problem(await shop.client.get("/api/skus/999999"), 404, "sku_not_found")
    assert_problem(await shop.client.get("/api/skus?limit=0"), 422, "validation_error")
    assert_problem(await shop.client.get("/api/skus/abc"), 422, "validation_error")
    assert_problem(await shop.client.get("/api/skus/99999999999999"), 422, "validation_error")


async def test_addresses_are_per_user(shop):
    alice, bob = await shop.buyer(), await shop.buyer()
    created = await shop.client.post(
        "/api/addresses", json={**ADDRESS, "receiver": "Han Meimei"}, headers=alice.headers
    )
    assert created.status_code == 201
    assert created.json()["receiver"] == "Han Meimei" and created.json()["id"]
    alice_ids = [
        a["id"]
        for a in (await shop.client.get("/api/addresses", headers=alice.headers)).json()["items"]
    ]
    bob_ids = [
        a["id"]
        for a in (await shop.client.get("/api/addresses", headers=bob.headers)).json()["items"]
    ]
    assert alice_ids == [alice.address_id, created.json()["id"]]
    assert bob_ids == [bob.address_id]


@pytest.mark.parametrize(
    "change",
    [{"mobile": "call me"}, {"receiver": ""}, {"place": None}, {"extra": "field"}, {"city": 5}],
)
async def test_addresses_refuse_malformed_bodies(shop, change):
    buyer = await shop.buyer()
    body = {**ADDRESS, **change}
    response = await shop.client.post("/api/addresses", json=body, headers=buyer.headers)
    assert_problem(response, 422, "validation_error")


async def test_cart_put_list_select_and_delete(shop):
    buyer = await shop.buyer()
    a, b = await shop.add_skus(10, 10, price="2.50")
    put = await shop.client.put(f"/api/cart/items/{a}", json={"count": 2}, headers=buyer.headers)
    assert put.status_code == 200
    assert put.json() == {
        "sku_id": a,
        "name": put.json()["name"],
        "price": "2.50",
        "count": 2,
        "selected": True,
    }
    await shop.client.put(
        f"/api/cart/items/{b}", json={"count": 1, "selected": False}, headers=buyer.headers
    )
    await shop.client.put(f"/api/cart/items/{a}", json={"count": 3}, headers=buyer.headers)
    items = (await shop.client.get("/api/cart", headers=buyer.headers)).json()["items"]
    assert [(i["sku_id"], i["count"], i["selected"]) for i in items] == [
        (a, 3, True),
        (b, 1, False),
    ]
    deleted = await shop.client.delete(f"/api/cart/items/{a}", headers=buyer.headers)
    assert deleted.status_code == 204
    items = (await shop.client.get("/api/cart", headers=buyer.headers)).json()["items"]
    assert [i["sku_id"] for i in items] == [b]
    # the cart lives in Redis, per user
    other = await shop.buyer()
    assert (await shop.client.get("/api/cart", headers=other.headers)).json()["items"] == []


async def test_cart_unknown_sku_and_bad_counts(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    missing = await shop.client.put(
        "/api/cart/items/999999", json={"count": 1}, headers=buyer.headers
    )
    assert_problem(missing, 404, "sku_not_found")
    for count in (0, -1, 10**12, "2", 1.5, None, True):
        response = await shop.client.put(
            f"/api/cart/items/{sku}", json={"count": count}, headers=buyer.headers
        )
        assert_problem(response, 422, "validation_error")
    assert (await shop.client.get("/api/cart", headers=buyer.headers)).json()["items"] == []


async def test_health_ready_and_openapi(shop):
    assert (await shop.client.get("/healthz")).json() == {"status": "ok"}
    ready = await shop.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "redis": True}
    spec = (await shop.client.get("/openapi.json")).json()
    assert "/api/orders" in spec["paths"]
    metrics = await shop.client.get("/metrics/")
    assert metrics.status_code == 200 and "order_placed_total" in metrics.text


async def test_request_id_is_echoed(shop):
    response = await shop.client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"

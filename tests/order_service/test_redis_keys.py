"""Redis keys carry ORDER_REDIS_KEY_PREFIX, and an idle cart expires after ORDER_CART_IDLE_DAYS
(issue 10, item 13): keys were bare (`cart_{user}`) and a cart lived for ever."""

import redis.asyncio as aioredis

DAY = 86400


async def test_keys_carry_the_prefix_and_an_idle_cart_expires(make_shop, redis_url):
    shop = await make_shop(redis_key_prefix="shopA:", cart_idle_days=30)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    response = await shop.client.put(
        f"/api/cart/items/{sku}", json={"count": 2}, headers=buyer.headers
    )
    assert response.status_code == 200, response.text
    # a failed log-in is counted in Redis too
    wrong = await shop.client.post(
        "/api/auth/token", data={"username": buyer.username, "password": "not it at all"}
    )
    assert wrong.status_code == 401

    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        keys = sorted(await client.keys("*"))
        assert keys and all(key.startswith("shopA:") for key in keys), keys
        cart_keys = [
            key
            for key in keys
            if key.startswith("shopA:cart_") and key.endswith(f"_{buyer.user_id}")
        ]
        assert len(cart_keys) == 2, keys  # counts and selection
        for key in cart_keys:
            assert 29 * DAY < await client.ttl(key) <= 30 * DAY
        assert any(key.startswith("shopA:ratelimit:") for key in keys), keys
    finally:
        await client.aclose()
    listed = await shop.client.get("/api/cart", headers=buyer.headers)
    assert [item["count"] for item in listed.json()["items"]] == [2]

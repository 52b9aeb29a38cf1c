"""Inputs the fuzzer found that reached PostgreSQL and failed there (500); each is a 4xx now."""

import pytest

from tests.order_service.conftest import ADDRESS
from tests.order_service.test_api import assert_problem


async def _addresses(shop, buyer) -> list[dict]:
    response = await shop.client.get("/api/addresses", headers=buyer.headers)
    return response.json()["items"]


async def test_a_21_character_mobile_is_malformed_not_a_server_error(shop):
    # The pattern allows "+", 1, 18, 1 characters; the column holds 20.
    buyer = await shop.buyer()
    before = await _addresses(shop, buyer)
    body = {**ADDRESS, "mobile": "+75-03800264447-2 383"}
    response = await shop.client.post("/api/addresses", json=body, headers=buyer.headers)
    assert_problem(response, 422, "validation_error")
    assert await _addresses(shop, buyer) == before


async def test_a_20_character_mobile_is_still_accepted(shop):
    buyer = await shop.buyer()
    body = {**ADDRESS, "mobile": "+7503800264447-2 383"}
    response = await shop.client.post("/api/addresses", json=body, headers=buyer.headers)
    assert response.status_code == 201, response.text
    assert response.json()["mobile"] == "+7503800264447-2 383"


@pytest.mark.parametrize("field", ["receiver", "province", "city", "district", "place"])
@pytest.mark.parametrize("text", ["\u0000B", "one\ntwo", "tab\there", "del\u007f"])
async def test_control_characters_in_an_address_are_malformed(shop, field, text):
    buyer = await shop.buyer()
    before = await _addresses(shop, buyer)
    response = await shop.client.post(
        "/api/addresses", json={**ADDRESS, field: text}, headers=buyer.headers
    )
    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await _addresses(shop, buyer) == before


async def test_non_ascii_address_text_is_kept(shop):
    buyer = await shop.buyer()
    body = {**ADDRESS, "city": "杭州", "place": "文三路 1 号 \U0001302f"}
    response = await shop.client.post("/api/addresses", json=body, headers=buyer.headers)
    assert response.status_code == 201, response.text
    assert response.json()["place"] == "文三路 1 号 \U0001302f"

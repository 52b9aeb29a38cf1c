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


@pytest.mark.parametrize("action", ["get", "cancel", "payment"])
@pytest.mark.parametrize("order_id", ["%00", "ab%00cd", "a-b", "x" * 65])
async def test_a_malformed_order_id_is_refused_before_the_database(shop, action, order_id):
    buyer = await shop.buyer()
    if action == "get":
        response = await shop.client.get(f"/api/orders/{order_id}", headers=buyer.headers)
    else:
        response = await shop.client.post(f"/api/orders/{order_id}/{action}", headers=buyer.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["order_id"]


async def test_a_well_formed_unknown_order_id_is_still_not_found(shop):
    buyer = await shop.buyer()
    response = await shop.client.get(f"/api/orders/{'9' * 64}", headers=buyer.headers)
    assert_problem(response, 404, "order_not_found")


@pytest.mark.parametrize(
    "form",
    [
        {"username": "a\u0000b", "password": "whatever"},
        {"username": "x" * 65, "password": "whatever"},
        {"username": "someone", "password": "p" * 129},
        {"username": "someone", "password": "whatever", "grant_type": "client_credentials"},
    ],
)
async def test_a_malformed_login_form_is_refused_before_the_database(shop, form):
    response = await shop.client.post("/api/auth/token", data=form)
    assert_problem(response, 422, "validation_error")


async def test_login_still_takes_the_oauth2_form_with_its_optional_fields(shop):
    buyer = await shop.registered_buyer()
    form = {
        "grant_type": "password",
        "username": buyer.username,
        "password": "correct horse",
        "scope": "",
        "client_id": "spa",
    }
    response = await shop.client.post("/api/auth/token", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"

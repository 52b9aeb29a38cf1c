from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import Money, format_money, round_money, to_money


def test_to_money_keeps_two_places_exactly():
    assert to_money("12.5") == Decimal("12.50")
    assert str(to_money(3)) == "3.00"


@pytest.mark.parametrize("bad", ["12.345", "abc", "NaN", "Infinity", ""])
def test_to_money_refuses_what_is_not_a_cent_amount(bad):
    with pytest.raises(ValueError):
        to_money(bad)


def test_to_money_refuses_floats():
    with pytest.raises(TypeError):
        to_money(0.1 + 0.2)


def test_round_money_rounds_half_up():
    assert round_money(Decimal("0.125")) == Decimal("0.13")


class Priced(BaseModel):
    price: Money


def test_money_field_serialises_as_a_two_place_string():
    assert Priced(price="7").model_dump(mode="json") == {"price": "7.00"}
    assert format_money(Decimal("7.1")) == "7.10"


def test_money_field_refuses_floats_and_fractions_of_a_cent():
    with pytest.raises(ValidationError):
        Priced(price=7.1)
    with pytest.raises(ValidationError):
        Priced(price="7.001")

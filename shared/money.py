"""Money is a Decimal with two places, never a float; on the wire it is a string ("12.50")."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")


def to_money(value: Decimal | str | int) -> Decimal:
    """Exact conversion to two places; refuses floats and amounts with fractions of a cent."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"more than two decimals: {value!r}")
    return amount.quantize(CENT)


def round_money(amount: Decimal) -> Decimal:
    """Round a computed amount (e.g. a product) to cents, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    return str(to_money(amount))


def _parse(value):
    if isinstance(value, float):
        raise ValueError('money must be a string such as "12.50", not a float')
    return to_money(value)


Money = Annotated[Decimal, BeforeValidator(_parse), PlainSerializer(format_money, return_type=str)]
"""A pydantic field type: accepts "12.50" or 12 (int), refuses floats, serialises as a string."""

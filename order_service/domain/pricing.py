"""Order totals in Decimal: the sum of line prices times counts, plus freight."""

from dataclasses import dataclass
from decimal import Decimal

from order_service.domain.errors import Unprocessable
from shared.money import round_money, to_money


@dataclass(frozen=True)
class Line:
    sku_id: int
    count: int
    price: Decimal


@dataclass(frozen=True)
class Totals:
    total_count: int
    goods_amount: Decimal
    freight: Decimal
    total_amount: Decimal


def line_amount(line: Line) -> Decimal:
    return round_money(to_money(line.price) * line.count)


def order_totals(lines: list[Line], freight: Decimal) -> Totals:
    if not lines:
        raise ValueError("an order needs at least one line")
    if any(line.count <= 0 for line in lines):
        raise ValueError("every line needs a positive count")
    goods_amount = sum((line_amount(line) for line in lines), Decimal("0.00"))
    freight = to_money(freight)
    return Totals(
        total_count=sum(line.count for line in lines),
        goods_amount=goods_amount,
        freight=freight,
        total_amount=goods_amount + freight,
    )


# Alipay's largest total_amount: an order above it could never be paid.
MAX_ORDER_AMOUNT = Decimal("100000000.00")
# Units of one SKU in one order, after lines naming the same SKU are added up.
MAX_UNITS_PER_SKU = 9999


def amount_out_of_range(total: Decimal) -> Unprocessable:
    return Unprocessable(
        "amount_out_of_range",
        f"An order may total at most {MAX_ORDER_AMOUNT} (this one: {total}).",
        max_amount=str(MAX_ORDER_AMOUNT),
    )


def check_units(counts: dict[int, int]) -> None:
    """Refuses (422) more than MAX_UNITS_PER_SKU of one SKU, however the lines split them."""
    for sku_id, count in counts.items():
        if count > MAX_UNITS_PER_SKU:
            raise Unprocessable(
                "too_many_units",
                f"At most {MAX_UNITS_PER_SKU} units of sku {sku_id} fit in one order.",
                sku_id=sku_id,
            )


def merge_counts(items: list[tuple[int, int]]) -> dict[int, int]:
    """Counts per sku id, the same sku named twice adding up; sorted by sku id."""
    merged: dict[int, int] = {}
    for sku_id, count in items:
        merged[sku_id] = merged.get(sku_id, 0) + count
    return dict(sorted(merged.items()))

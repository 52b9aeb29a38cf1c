"""Order totals in Decimal: the sum of line prices times counts, plus freight."""

from dataclasses import dataclass
from decimal import Decimal

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


def merge_counts(items: list[tuple[int, int]]) -> dict[int, int]:
    """Counts per sku id, the same sku named twice adding up; sorted by sku id."""
    merged: dict[int, int] = {}
    for sku_id, count in items:
        merged[sku_id] = merged.get(sku_id, 0) + count
    return dict(sorted(merged.items()))

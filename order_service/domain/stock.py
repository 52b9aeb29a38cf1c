"""Stock arithmetic for a batch of orders, with no I/O.

Checkout serves the orders waiting in one process together (see services/checkout.py): the
stock of each SKU is read once, the orders are allotted units in the order they arrived, and
one compare-and-set per SKU takes the sum. These functions decide who gets what.
"""

from dataclasses import dataclass
from decimal import Decimal

from order_service.domain.errors import DomainError, InsufficientStock, NotFound


@dataclass(frozen=True)
class SkuStock:
    """A SKU as read just before stock is taken."""

    id: int
    stock: int
    goods_id: int
    name: str
    price: Decimal


def sku_not_found(sku_id: int) -> NotFound:
    return NotFound("sku_not_found", f"There is no sku {sku_id}.", sku_id=sku_id)


def refusal(counts: dict[int, int], left: dict[int, int], found: dict[int, SkuStock]):
    """Why an order (counts per sku id) cannot be served from `left`, or None if it can."""
    for sku_id, count in sorted(counts.items()):
        if sku_id not in found:
            return sku_not_found(sku_id)
        if left[sku_id] < count:
            return InsufficientStock(sku_id)
    return None


def allot(
    wanted: list[dict[int, int]], found: dict[int, SkuStock]
) -> tuple[list[DomainError | None], dict[int, int]]:
    """Allot stock to each order in turn (first come, first served).

    Returns, per order, None when it gets all it asked for or the error that refuses it, and the
    units taken per SKU by the orders that were served.
    """
    left = {sku_id: sku.stock for sku_id, sku in found.items()}
    taken: dict[int, int] = {}
    decisions: list[DomainError | None] = []
    for counts in wanted:
        error = refusal(counts, left, found)
        decisions.append(error)
        if error is None:
            for sku_id, count in counts.items():
                left[sku_id] -= count
                taken[sku_id] = taken.get(sku_id, 0) + count
    return decisions, dict(sorted(taken.items()))


def still_fits(taken: dict[int, int], stock_now: dict[int, int]) -> bool:
    """After a lost race: can the same units still be taken from the stock as it is now?"""
    return all(stock_now.get(sku_id, 0) >= count for sku_id, count in taken.items())

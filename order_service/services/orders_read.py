"""Reading orders back in the contract's shape: the buyer's own, and the back office's."""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from order_service.domain.errors import NotFound
from order_service.storage import order_queries
from order_service.storage.order_queries import OrderFilter, find_order

Reader = AsyncSession | AsyncConnection
ADDRESS_FIELDS = ("id", "receiver", "mobile", "province", "city", "district", "place")


def refund_view(refund: Mapping) -> dict:
    return {
        "refund_id": refund["refund_id"],
        "amount": refund["amount"],
        "reason": refund["reason"],
        "status": refund["status"],
        "error": refund["error"],
        "created_at": refund["created_at"],
    }


def order_view(row: Mapping, lines: list[Mapping], refunds: Sequence[Mapping] = ()) -> dict:
    """An order in the contract's shape, from its row, its lines (ascending sku id) and refunds."""
    shipment = None
    if row.get("shipped_at") is not None:
        shipment = {
            "carrier": row["carrier"],
            "tracking_no": row["tracking_no"],
            "shipped_at": row["shipped_at"],
        }
    return {
        "order_id": row["order_id"],
        "status": row["status"],
        "pay_method": row["pay_method"],
        "address_id": row["address_id"],
        "total_count": row["total_count"],
        "freight": row["freight"],
        "total_amount": row["total_amount"],
        "items": [
            {
                "sku_id": line["sku_id"],
                "name": line["name"],
                "count": line["count"],
                "price": line["price"],
            }
            for line in lines
        ],
        "created_at": row["created_at"],
        "pay_deadline": row["pay_deadline"],
        "paid_at": row["paid_at"],
        "canceled_at": row["canceled_at"],
        "cancel_reason": row["cancel_reason"],
        "refunded_amount": row.get("refunded_amount", 0),
        "shipment": shipment,
        "received_at": row.get("received_at"),
        "refunds": [refund_view(refund) for refund in refunds],
    }


async def order_to_pay(session: Reader, order_id: str, user_id: int) -> dict:
    """What a payment link needs of a buyer's order: status, pay_method, total_amount,
    pay_deadline and the subject (its line names)."""
    rows = await order_queries.to_pay(session, order_id, user_id)
    if not rows:
        raise not_found(order_id)
    first = rows[0]
    subject = ", ".join(row.name for row in rows)[:128]
    return first._asdict() | {"subject": subject}


def not_found(order_id: str) -> NotFound:
    return NotFound("order_not_found", f"There is no order {order_id} of yours.")


async def _views(session: Reader, rows) -> list[dict]:
    order_ids = [row.order_id for row in rows]
    lines = await order_queries.lines_by_order(session, order_ids)
    refunds = await order_queries.refunds_by_order(session, order_ids)
    return [order_view(row._mapping, lines[row.order_id], refunds[row.order_id]) for row in rows]


async def load_order(session: Reader, order_id: str, user_id: int | None = None) -> dict:
    row = await find_order(session, order_id, user_id)
    if row is None:
        raise not_found(order_id)
    return (await _views(session, [row]))[0]


async def list_orders(
    session: Reader, user_id: int, status: str | None = None, offset: int = 0, limit: int = 20
) -> dict:
    """The user's own orders, newest first, a page at a time."""
    where = OrderFilter(user_id=user_id, status=status)
    rows, total = await order_queries.search(session, where, offset, limit)
    return {"items": await _views(session, rows), "total": total}


def _with_buyer(view: dict, row, names: dict, places: dict) -> dict:
    place = places.get(row.address_id)
    return view | {
        "user_id": row.user_id,
        "username": names.get(row.user_id),
        "address": {field: place[field] for field in ADDRESS_FIELDS} if place else None,
    }


async def search_orders(session: Reader, where: OrderFilter, offset: int, limit: int) -> dict:
    """The back office's search: every buyer's orders with who bought and where to send."""
    rows, total = await order_queries.search(session, where, offset, limit)
    names, places = await order_queries.buyers_and_addresses(session, rows)
    views = await _views(session, rows)
    return {
        "items": [
            _with_buyer(view, row, names, places) for view, row in zip(views, rows, strict=True)
        ],
        "total": total,
    }


async def admin_order(session: Reader, order_id: str) -> dict:
    row = await find_order(session, order_id)
    if row is None:
        raise NotFound("order_not_found", f"There is no order {order_id}.")
    names, places = await order_queries.buyers_and_addresses(session, [row])
    return _with_buyer((await _views(session, [row]))[0], row, names, places)

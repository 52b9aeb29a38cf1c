"""The buyer's comments on the lines of a received order."""

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from order_service.storage.tables import order_comments


async def add_comments(session: AsyncSession, order_id: str, items: list[dict], at) -> None:
    """items: {"sku_id", "score", "comment"}, one per line of the order."""
    await session.execute(
        insert(order_comments),
        [
            {
                "order_id": order_id,
                "sku_id": item["sku_id"],
                "score": item["score"],
                "comment": item["comment"],
                "created_at": at,
            }
            for item in items
        ],
    )

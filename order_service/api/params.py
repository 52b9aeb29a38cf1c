"""Path, query and header parameters the routers share: ids, a page, an idempotency key."""

from typing import Annotated

from fastapi import Header, Path, Query

from order_service.api.schemas import MAX_DB_ID

SkuId = Annotated[int, Path(gt=0, le=MAX_DB_ID)]
GoodsId = Annotated[int, Path(gt=0, le=MAX_DB_ID)]
# Order ids are letters and digits (they are Alipay's out_trade_no); anything else, NUL
# included, is malformed and never reaches the database.
OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,64}$")]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
# A page of a list: `offset: Offset = 0, limit: Limit = 20`.
Offset = Annotated[int, Query(ge=0, le=MAX_DB_ID)]
Limit = Annotated[int, Query(ge=1, le=100)]

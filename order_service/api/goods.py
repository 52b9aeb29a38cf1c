from typing import Annotated

from fastapi import APIRouter, Query

from order_service.api.deps import SessionsDep
from order_service.api.params import GoodsId, Limit, Offset
from order_service.api.schemas import SINGLE_LINE, GoodsOut, GoodsPage
from order_service.services import goods
from shared.errors import problems

router = APIRouter(prefix="/api/goods", tags=["catalog"])


@router.get(
    "",
    response_model=GoodsPage,
    summary="Goods (SPUs) with their SKUs, a page at a time; `q` searches goods and SKU names",
    responses=problems({422: "`validation_error`: a bad offset, limit or q."}),
)
async def list_goods(
    sessions: SessionsDep,
    q: Annotated[str | None, Query(max_length=100, pattern=SINGLE_LINE)] = None,
    offset: Offset = 0,
    limit: Limit = 20,
):
    return await goods.list_goods(sessions, (q or "").strip() or None, offset, limit)


@router.get(
    "/{goods_id}",
    response_model=GoodsOut,
    summary="One goods with its SKUs",
    responses=problems({404: "`goods_not_found`."}),
)
async def get_goods(goods_id: GoodsId, sessions: SessionsDep):
    return await goods.get_goods(sessions, goods_id)

from fastapi import APIRouter

from order_service.api.deps import SessionsDep
from order_service.api.params import Limit, Offset, SkuId
from order_service.api.schemas import SkuOut, SkuPage
from order_service.services import catalog
from shared.errors import problems

router = APIRouter(prefix="/api/skus", tags=["catalog"])


@router.get("", response_model=SkuPage, summary="The catalog's SKUs, a page at a time")
async def list_skus(
    sessions: SessionsDep,
    offset: Offset = 0,
    limit: Limit = 20,
):
    return await catalog.list_skus(sessions, offset, limit)


@router.get(
    "/{sku_id}",
    response_model=SkuOut,
    summary="One SKU",
    responses=problems({404: "`sku_not_found`."}),
)
async def get_sku(sku_id: SkuId, sessions: SessionsDep):
    return await catalog.get_sku(sessions, sku_id)

from typing import Annotated

from fastapi import APIRouter, Path, Query

from order_service.api.deps import SessionsDep
from order_service.api.schemas import MAX_DB_ID, SkuOut, SkuPage
from order_service.services import catalog
from shared.errors import problems

router = APIRouter(prefix="/api/skus", tags=["catalog"])
SkuId = Annotated[int, Path(gt=0, le=MAX_DB_ID)]


@router.get("", response_model=SkuPage, summary="The catalog's SKUs, a page at a time")
async def list_skus(
    sessions: SessionsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
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

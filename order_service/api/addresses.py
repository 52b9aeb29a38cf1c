from fastapi import APIRouter
from sqlalchemy import insert, select

from order_service.api.deps import CurrentUser, SessionsDep
from order_service.api.schemas import AddressBody, AddressList, AddressOut
from order_service.storage.database import now_utc
from order_service.storage.tables import addresses

router = APIRouter(prefix="/api/addresses", tags=["addresses"])
_COLUMNS = [column for column in addresses.c if column.name not in ("user_id", "created_at")]


@router.post("", status_code=201, response_model=AddressOut)
async def create_address(body: AddressBody, user_id: CurrentUser, sessions: SessionsDep):
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                insert(addresses)
                .values(user_id=user_id, created_at=now_utc(), **body.model_dump())
                .returning(*_COLUMNS)
            )
        ).one()
    return row._asdict()


@router.get("", response_model=AddressList)
async def list_addresses(user_id: CurrentUser, sessions: SessionsDep):
    async with sessions() as session:
        rows = await session.execute(
            select(*_COLUMNS).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
        )
        return {"items": [row._asdict() for row in rows]}

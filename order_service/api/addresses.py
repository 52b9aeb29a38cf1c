from fastapi import APIRouter

from order_service.api.deps import CurrentUser, SessionsDep
from order_service.api.schemas import AddressBody, AddressList, AddressOut
from order_service.services import addresses
from shared.errors import UNAUTHORIZED, problems

router = APIRouter(prefix="/api/addresses", tags=["addresses"])


@router.post(
    "",
    status_code=201,
    response_model=AddressOut,
    summary="Add a delivery address",
    responses=problems(UNAUTHORIZED),
)
async def create_address(body: AddressBody, user_id: CurrentUser, sessions: SessionsDep):
    return await addresses.add_address(sessions, user_id, body.model_dump())


@router.get(
    "",
    response_model=AddressList,
    summary="The caller's delivery addresses",
    responses=problems(UNAUTHORIZED),
)
async def list_addresses(user_id: CurrentUser, sessions: SessionsDep):
    return {"items": await addresses.list_addresses(sessions, user_id)}

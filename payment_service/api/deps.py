from typing import Annotated

from fastapi import Depends, Request

from payment_service.services.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async def: FastAPI runs a plain `def` dependency in the thread pool, a hop per request
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

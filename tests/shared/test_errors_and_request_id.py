import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from shared.errors import Problem, install_problem_handlers
from shared.http import internal_client
from shared.logging import REQUEST_ID_HEADER, RequestIdMiddleware, current_request_id


class Body(BaseModel):
    name: str
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.post("/things")
    async def create(body: Body):
        raise Problem(409, "thing_taken", "That thing exists.", thing=body.name)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("bug")

    @app.get("/rid")
    async def rid():
        return {"request_id": current_request_id()}

    return app


async def _client():
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_a_problem_becomes_rfc9457_with_a_code():
    async with await _client() as client:
        response = await client.post("/things", json={"name": "a", "count": 1})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "That thing exists.",
        "code": "thing_taken",
        "thing": "a",
    }


async def test_validation_errors_name_each_bad_field():
    async with await _client() as client:
        response = await client.post("/things", json={"count": "many"})
    body = response.json()
    assert response.status_code == 422
    assert body["code"] == "validation_error"
    assert {error["field"] for error in body["errors"]} == {"name", "count"}


async def test_unknown_routes_and_bugs_are_problems_too():
    async with await _client() as client:
        missing = await client.get("/nowhere")
        bug = await client.get("/boom")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert bug.status_code == 500 and bug.json()["code"] == "internal_error"
    assert "bug" not in bug.text  # no internals leak to the client


async def test_the_request_id_is_taken_from_the_caller_and_echoed():
    async with await _client() as client:
        given = await client.get("/rid", headers={REQUEST_ID_HEADER: "abc-123"})
        made = await client.get("/rid")
    assert given.json() == {"request_id": "abc-123"}
    assert given.headers[REQUEST_ID_HEADER] == "abc-123"
    assert made.json()["request_id"] == made.headers[REQUEST_ID_HEADER]
    assert len(made.headers[REQUEST_ID_HEADER]) == 32


async def test_the_request_id_is_passed_on_to_the_services_we_call():
    """An internal call made while serving a request carries that request's id."""
    downstream = FastAPI()

    @downstream.get("/seen")
    async def seen(request: Request):
        return {"request_id": request.headers.get(REQUEST_ID_HEADER)}

    upstream = FastAPI()
    upstream.add_middleware(RequestIdMiddleware)

    @upstream.get("/call")
    async def call():
        transport = httpx.ASGITransport(app=downstream)
        async with internal_client("http://down", "secret", transport=transport) as client:
            return (await client.get("/seen")).json()

    transport = httpx.ASGITransport(app=upstream)
    async with httpx.AsyncClient(transport=transport, base_url="http://up") as client:
        response = await client.get("/call", headers={REQUEST_ID_HEADER: "trace-7"})
    assert response.json() == {"request_id": "trace-7"}


def test_the_openapi_document_describes_errors_as_problem_documents():
    schema = _app().openapi()
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    create = schema["paths"]["/things"]["post"]["responses"]
    ref = {"$ref": "#/components/schemas/Problem"}
    assert create["422"]["content"] == {"application/problem+json": {"schema": ref}}
    assert create["default"]["content"] == {"application/problem+json": {"schema": ref}}
    assert "application/json" not in create["422"]["content"]


async def test_a_body_that_cannot_be_decoded_is_a_malformed_request():
    async with await _client() as client:
        response = await client.post(
            "/things", content=b"\xff\xfe{", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_request"

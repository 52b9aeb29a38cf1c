"""With LOG_JSON=true a running service's access log (uvicorn's) is JSON too, one object a line,
and each access line carries the id of the request it reports."""

import asyncio
import json
import uuid

import httpx
import pytest

from tests.support.processes import ServiceProcess

SERVICES = {
    "order": ("order_service.main:app", {"ORDER_REDIS_URL": "memory://"}),
    "sandbox": ("alipay_sandbox.main:app", {}),
}


@pytest.mark.parametrize("name", list(SERVICES))
async def test_json_access_lines_carry_the_request_id(name, tmp_path):
    app, env = SERVICES[name]
    env = {
        **env,
        "APP_ENV": "development",
        "LOG_JSON": "true",
        "ORDER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/order.db",
    }
    service = ServiceProcess(app, env, f"access-log-{name}", log_level="info")
    given = f"req-{uuid.uuid4().hex}"
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            await http.get("/healthz", headers={"X-Request-ID": given})
            made_up = (await http.get("/no-such-page")).headers["X-Request-ID"]
    finally:
        await asyncio.to_thread(service.stop)

    lines = service.log_path.read_text().splitlines()
    # Lines before the app's start-up (uvicorn's own, in its format) are not ours to shape.
    started = next(i for i, line in enumerate(lines) if "Application startup complete" in line)
    records = [json.loads(line) for line in lines[started:]]  # every line from then on is JSON
    access = [r for r in records if r.get("logger") == "uvicorn.access"]
    by_id = {r.get("request_id"): r for r in access}
    assert set(by_id) >= {given, made_up}, access
    assert by_id[given]["method"] == "GET" and by_id[given]["path"] == "/healthz"
    assert by_id[given]["status"] == 200 and by_id[given]["level"] == "info"
    assert by_id[made_up]["path"] == "/no-such-page" and by_id[made_up]["status"] == 404
    assert all(r["service"] and r["timestamp"] for r in access)

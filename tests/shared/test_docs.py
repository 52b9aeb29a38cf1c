"""/docs and /redoc work offline, and /openapi.json describes every public operation: a summary
written for it and its errors as problem documents."""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from alipay_sandbox.main import create_app as sandbox_app
from order_service.main import create_app as order_app
from payment_service.main import create_app as payment_app

APPS = {"order": order_app, "payment": payment_app, "sandbox": sandbox_app}
# The public operations: the order service's API, and what Alipay and the buyer's browser call
# on the payment service; both services' health routes.
PUBLIC = {
    "order": re.compile(r"^/(api/|healthz$|readyz$)"),
    "payment": re.compile(r"^/(alipay/|healthz$|readyz$)"),
}
PROBLEM_REF = "#/components/schemas/Problem"


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _client(name: str) -> httpx.AsyncClient:
    # The docs need no database: the app is served without its lifespan.
    transport = httpx.ASGITransport(app=APPS[name]())
    return httpx.AsyncClient(transport=transport, base_url="http://service.test")


@pytest.mark.parametrize("name", list(APPS))
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_assets_the_service_serves(name, page):
    async with _client(name) as client:
        html = await client.get(page)
        assert html.status_code == 200
        parser = _References()
        parser.feed(html.text)
        # Script URLs the page builds in JavaScript (Swagger UI's `url: '/openapi.json'`).
        urls = parser.urls + re.findall(r"""url: ?['"]([^'"]+)['"]""", html.text)
        assert any(u.endswith(".js") for u in urls), urls
        assert "//" not in re.sub(r"https?://service\.test", "", " ".join(urls)), urls
        for url in urls:
            absolute = urljoin(str(html.url), url)
            assert urlsplit(absolute).netloc == "service.test", url
            answer = await client.get(absolute)
            assert answer.status_code == 200, url
            assert answer.content, url


@pytest.mark.parametrize("name", list(PUBLIC))
def test_every_public_operation_has_its_own_summary_and_documents_its_errors(name):
    app = APPS[name]()
    schema = app.openapi()
    public = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if PUBLIC[name].match(path)
        for method, operation in item.items()
    ]
    assert len(public) >= (10 if name == "order" else 4)
    for path, method, operation in public:
        where = f"{method.upper()} {path}"
        # Without a summary FastAPI makes one up from the function's name ("Create Order"),
        # which also starts the operation id ("create_order_api_orders_post").
        summary = operation.get("summary", "")
        made_up = operation["operationId"].startswith(summary.lower().replace(" ", "_") + "_")
        assert summary and not made_up, f"{where}: {summary!r}"
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45" or s == "default"}
        assert "default" in errors, where
        for status, response in errors.items():
            content = response.get("content", {})
            assert content["application/problem+json"]["schema"]["$ref"] == PROBLEM_REF, (
                where,
                status,
            )
            assert response["description"], (where, status)
        if operation.get("security"):  # needs a user's token
            assert "401" in errors, where


@pytest.mark.parametrize("name", list(PUBLIC))
def test_internal_routes_are_left_out_of_the_public_document(name):
    """Issue 10, item 11: /openapi.json listed every /internal/ route, a map for an attacker."""
    paths = APPS[name]().openapi()["paths"]
    assert [path for path in paths if path.startswith("/internal")] == []

"""The FastAPI app of every service, with API docs (/docs, /redoc) that work offline.

FastAPI's own /docs and /redoc pages load Swagger UI's and ReDoc's JavaScript and CSS from a
CDN, so they are blank on a network without internet access and under a strict
Content-Security-Policy. FastAPI's documentation ("Self-hosting JavaScript and CSS for docs")
says to serve those files yourself; rather than vendor ~3 MB of minified JavaScript and keep it
up to date by hand, we take them from fastapi-offline (MIT), a maintained package that ships
swagger-ui-dist 5 and ReDoc 2 as package data and serves them at /static-offline-docs with
FastAPI's own page builders. Every service builds its app here, so all of them get the same.
"""

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

DOCS_ASSETS_URL = "/static-offline-docs"


def service_app(**kwargs: Any) -> FastAPI:
    """`FastAPI(**kwargs)` whose /docs and /redoc use assets served by the service itself."""
    return FastAPIOffline(static_url=DOCS_ASSETS_URL, **kwargs)

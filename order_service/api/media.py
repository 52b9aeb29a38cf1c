"""`/media/`: the pictures of goods that load-catalog copied into ORDER_MEDIA_DIR.

The folder comes from the settings, which are read when the lifespan starts, so the mount is a
small ASGI app that hands each request to the StaticFiles made then. Every answer forbids
scripts (an SVG opened on its own runs in a sandbox) and content sniffing.
"""

from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"public, max-age=86400"),
]


def media_files(directory) -> StaticFiles:
    return StaticFiles(directory=directory, check_dir=False)


class MediaMount:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        files: StaticFiles = scope["app"].state.media_files

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await files(scope, receive, send_with_headers)

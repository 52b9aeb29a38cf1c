"""A TCP proxy that a test controls, between a service process and PostgreSQL or Redis.

Three modes, switched at any time:

- `passing()`: bytes flow both ways (connections that were blackholed are closed first, as a
  network that comes back after a partition leaves them broken);
- `cut()`: every connection is closed and new ones are refused (the port stops listening): the
  dependency is down;
- `blackhole()`: connections are accepted and kept open, but nothing is forwarded either way,
  on new and existing connections alike: the dependency (or the network) stopped answering.

The proxy runs its own event loop in a thread, so it keeps working whatever the test's loop
does (a test may block in a synchronous call while a service waits on the proxy).
"""

import asyncio
import socket
import threading
from typing import Literal

Mode = Literal["pass", "cut", "blackhole"]


class _Link:
    """One client connection and, when passing, its upstream connection."""

    def __init__(self, client: asyncio.StreamWriter):
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.blackholed = False
        self.tasks: list[asyncio.Task] = []

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "pass"
        self.port = _free_port()
        self._links: set[_Link] = set()
        self._server: asyncio.AbstractServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # ------------------------------------------------------------------ control (any thread)

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._call(self._listen())
        return self

    def passing(self) -> None:
        self._call(self._set_mode("pass"))

    def cut(self) -> None:
        self._call(self._set_mode("cut"))

    def blackhole(self) -> None:
        self._call(self._set_mode("blackhole"))

    def close(self) -> None:
        self._call(self._set_mode("cut"))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, template: str) -> str:
        """`template` with `{port}` replaced by the proxy's port."""
        return template.format(port=self.port)

    def _call(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # ------------------------------------------------------------------ the proxy's own loop

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _set_mode(self, mode: Mode) -> None:
        previous, self.mode = self.mode, mode
        if mode == "cut":
            if self._server is not None:
                self._server.close()
                self._server = None
            for link in list(self._links):
                link.abort()
            self._links.clear()
            return
        if self._server is None:
            await self._listen()
        if mode == "blackhole":
            for link in self._links:
                link.blackholed = True
        elif previous == "blackhole":
            for link in [link for link in self._links if link.blackholed]:
                link.abort()
                self._links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links.add(link)
        if self.mode == "blackhole":
            link.blackholed = True
            link.tasks.append(asyncio.current_task())
            await self._swallow(reader)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), 5
            )
        except (OSError, TimeoutError):
            link.abort()
            self._links.discard(link)
            return
        link.upstream = up_writer
        link.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, link)),
            asyncio.create_task(self._pump(up_reader, writer, link)),
        ]

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except (OSError, asyncio.CancelledError):
            pass

    async def _pump(
        self, source: asyncio.StreamReader, target: asyncio.StreamWriter, link: _Link
    ) -> None:
        try:
            while data := await source.read(65536):
                if link.blackholed:
                    continue  # dropped: nothing answers
                target.write(data)
                await target.drain()
        except (OSError, asyncio.CancelledError):
            pass
        if not link.blackholed:
            link.abort()
            self._links.discard(link)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

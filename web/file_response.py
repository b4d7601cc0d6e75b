"""A FileResponse whose file is always closed, even when its request is cancelled.

aiohttp's FileResponse opens the file in an executor thread during `prepare`; a request
cancelled while it waits there (the server shutting down while a browser still streams a
recording) drops the opened file object unclosed. Shielding `prepare` lets it run to its
own `finally`, which closes the file; the cancelled caller still sees the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest


def _retrieve(task: asyncio.Task[AbstractStreamWriter | None]) -> None:
    """Collect an abandoned prepare's outcome (a reset connection, as a rule)."""
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()


class ClosingFileResponse(web.FileResponse):
    """`web.FileResponse`, with `prepare` finished even when its caller is cancelled."""

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        task = asyncio.ensure_future(super().prepare(request))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

"""A deadline for reading the request body: a client that starts a body and never finishes it
(slow-loris style) gets ``408`` and a closed connection instead of holding a worker forever.

The server (uvicorn) bounds idle keep-alive connections but not a body that trickles in or
stops half-way; this middleware does, for every route, before any other middleware reads.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, send_json


class BodyTimeoutMiddleware:
    """The whole body must arrive within ``timeout`` seconds of the first read.

    On time-out the app is told the client went away (``http.disconnect``, which every reader
    already handles), and unless it has answered by then, the client gets 408 with
    ``Connection: close``. Reads after the body is complete (waiting for a disconnect while
    streaming) are not limited.
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        body_done = timed_out = started = False

        async def timed_receive() -> Message:
            nonlocal deadline, body_done, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            if deadline is None:
                deadline = anyio.current_time() + self.timeout
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    body_done = True
                return message
            timed_out = True
            return {"type": "http.disconnect"}

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except Exception:
            if not timed_out:  # a reader that raised on the disconnect we reported is expected
                raise
        if timed_out and not started:
            message = f"the request body did not arrive within {self.timeout:g} seconds"
            await send_json(send, 408, error_body("request_timeout", message))

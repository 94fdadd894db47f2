"""Pure ASGI middleware: request ids, access logs, request metrics, and bearer-key auth.

Pure ASGI rather than `@app.middleware("http")`: it adds no task per request and leaves the
`receive` channel alone, so routes can watch for a client that disconnects.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from road.core.errors import PayloadTooLarge, Unauthorized
from road.service.errors import render_domain
from road.service.logs import request_id_var
from road.service.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("road.access")


class ObserveMiddleware:
    """Request id (the client's, if sane), one access-log line, and per-endpoint metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_access: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["received_at"] = time.monotonic()
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", "unmatched")
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.latency.labels(endpoint).observe(seconds)
        if self.log_access:
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )


class BodyLimitMiddleware:
    """413 for a body over the limit: at once when declared, else as soon as it is read past it.

    Hand-written rather than FastAPI's `max_body_size`, whose Starlette responder replaces any
    response to an over-long declared body with plain text, breaking the one error shape.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            error = PayloadTooLarge(self.max_body_bytes)
            await render_domain(Request(scope, receive), error)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # FastAPI re-raises HTTPException from a body read; the error handlers map it.
                raise HTTPException(413, "Content too large")
            return message

        await self.app(scope, counting_receive, send)


class AuthMiddleware:
    """Bearer API keys on every path but the exempt ones; keys compared in constant time."""

    def __init__(self, app: ASGIApp, keys: Sequence[str], exempt: Sequence[str]) -> None:
        self.app = app
        # Digests have equal lengths, so compare_digest never leaks a key's length.
        self._digests = [_digest(key) for key in keys]
        self._exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exempt or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        response = render_domain(
            Request(scope, receive), Unauthorized("a valid bearer API key is required")
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        candidate = _digest(given.strip())
        matches = [hmac.compare_digest(candidate, digest) for digest in self._digests]
        return any(matches)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()

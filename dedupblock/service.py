"""``dedupblock serve``: the check as an HTTP service (Starlette ASGI app).

Endpoints
=========

``POST /v1/check``            ``{"text": str, "lang": str?}`` -> a verdict shaped like a
                              ``dedupblock check`` line: ``blocked, score, match_id, rule,
                              matches`` (ids, licences, scores and offsets only)
``GET /healthz``              liveness/readiness (never needs the API key)
``GET /metrics``              Prometheus text: ``dedupblock_checks_total``,
                              ``dedupblock_blocks_total``, ``dedupblock_check_latency_seconds``
``POST /v1/chat/completions`` with an upstream: OpenAI-compatible filtering proxy
``POST /v1/completions``      (:mod:`dedupblock.proxy`)

Errors are JSON: ``{"error": {"type": ..., "message": ...}}`` with 400 (malformed
JSON / not an object), 401 (API key), 404, 405, 413 (body over the limit, from
``Content-Length`` or while the body streams in), 422 (missing or ill-typed fields).

The index holds hashes and offsets, never protected text, so no response can
contain protected text; there is deliberately no option to return source text.

Checks run on one dedicated thread per worker process (a :class:`Blocker`
reuses buffers and is not thread-safe), which keeps the event loop free for
I/O; several worker processes share the index through the page cache.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from dedupblock.blocker import Blocker
    from dedupblock.policy import Policy

DEFAULT_MAX_BODY = 1 << 20
API_KEY_ENV = "DEDUPBLOCK_API_KEY"
CONFIG_ENV = "DEDUPBLOCK_SERVE_CONFIG"
OPEN_PATHS = frozenset({"/healthz"})


class APIError(Exception):
    """An error answered as ``{"error": {"type", "message"}}`` with ``status``."""

    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.headers = status, type_, message, headers


def error_response(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message}}, status_code=status, headers=headers)


@dataclass
class ServiceConfig:
    """Everything a worker needs; JSON-serialisable so that uvicorn workers can rebuild it."""

    index: str
    policy: dict[str, Any] = field(default_factory=dict)
    upstream: str | None = None
    api_key_file: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    upstream_timeout: float = 120.0
    stream_check_every: int = 16  # characters of a streamed choice between checks

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @staticmethod
    def from_json(raw: str) -> "ServiceConfig":
        return ServiceConfig(**json.loads(raw))


def load_api_key(api_key_file: str | None) -> str | None:
    """The API key from ``--api-key-file`` (first line) or ``$DEDUPBLOCK_API_KEY``; ``None`` = open."""
    if api_key_file:
        try:
            with open(api_key_file, encoding="utf-8") as f:
                key = f.readline().strip()
        except OSError as exc:
            raise ValueError(f"cannot read API key file {api_key_file}: {exc.strerror}") from None
        if not key:
            raise ValueError(f"API key file {api_key_file} is empty")
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    return key or None


class Metrics:
    """Prometheus metrics of one app; multiprocess-aware (``$PROMETHEUS_MULTIPROC_DIR``)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.checks = Counter("dedupblock_checks", "Outputs checked (service and proxy).", ["endpoint"],
                              registry=self.registry)
        self.blocks = Counter("dedupblock_blocks", "Outputs on which the policy fired.", ["endpoint", "rule"],
                              registry=self.registry)
        self.latency = Histogram("dedupblock_check_latency_seconds", "Time of one check (compute only).",
                                 ["endpoint"], registry=self.registry,
                                 buckets=(.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5))
        self.errors = Counter("dedupblock_http_errors", "Requests answered with an error.", ["status"],
                              registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            return generate_latest(reg), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class Checker:
    """The worker's Blocker, used from one dedicated thread only."""

    def __init__(self, index: str, policy: "Policy") -> None:
        self.index_path = index
        self.policy = policy
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedupblock-check")
        self.blocker: "Blocker | None" = None
        self.ready = False
        self.opened_s = 0.0

    def _open(self) -> None:
        t0 = time.perf_counter()
        from dedupblock.blocker import Blocker

        self.blocker = Blocker(self.index_path, self.policy)
        # load the numba cache and the featurizers, touch the index
        self.blocker.check("warm up the kernels: " * 8)
        self.blocker.check("def warm(up):\n    return [x + 1 for x in up]\n" * 4, "python")
        self.opened_s = time.perf_counter() - t0
        self.ready = True

    async def start(self) -> None:
        await self.run(self._open)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def check_sync(self, text: str, lang: str | None) -> Any:
        assert self.blocker is not None
        return self.blocker.check(text, lang)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.blocker is not None:
            try:
                self.blocker.index.close()
            except Exception:  # noqa: BLE001 - closing on shutdown is best effort
                pass


async def read_json_body(request: Request, limit: int) -> Any:
    """The request's JSON body, refusing more than ``limit`` bytes without reading it whole."""
    raw_len = request.headers.get("content-length")
    if raw_len is not None:
        try:
            declared = int(raw_len)
        except ValueError:
            raise APIError(400, "invalid_request", "invalid Content-Length header") from None
        if declared > limit:
            raise APIError(413, "request_too_large", f"request body of {declared} bytes exceeds the limit of "
                                                     f"{limit} bytes")
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise APIError(413, "request_too_large", f"request body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    body = b"".join(parts)
    if not body.strip():
        raise APIError(400, "invalid_json", "request body is empty; expected a JSON object")
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, "invalid_json", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise APIError(400, "invalid_json", f"expected a JSON object, got {type(data).__name__}")
    return data


def _check_fields(data: dict[str, Any]) -> tuple[str, str | None]:
    if "text" not in data:
        raise APIError(422, "invalid_field", "missing field 'text'")
    text, lang = data["text"], data.get("lang")
    if not isinstance(text, str):
        raise APIError(422, "invalid_field", f"field 'text' must be a string, got {type(text).__name__}")
    if lang is not None and not isinstance(lang, str):
        raise APIError(422, "invalid_field", f"field 'lang' must be a string, got {type(lang).__name__}")
    return text, lang


class AuthMiddleware:
    """``Authorization: Bearer KEY`` on every path but /healthz, compared in constant time."""

    def __init__(self, app: Any, key: str | None) -> None:
        self.app = app
        self.key = key.encode() if key else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.key is None or scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        ok = scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)
        if not ok:
            resp = error_response(401, "unauthorized", "missing or invalid API key (Authorization: Bearer KEY)",
                                  headers={"WWW-Authenticate": "Bearer"})
            await resp(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(config: ServiceConfig, *, api_key: str | None = None, policy: "Policy | None" = None
               ) -> Any:
    """The ASGI app.  ``api_key`` overrides the file / environment lookup (tests)."""
    from dedupblock.policy import Policy

    policy = policy or Policy(**config.policy)
    key = api_key if api_key is not None else load_api_key(config.api_key_file)
    checker = Checker(config.index, policy)
    metrics = Metrics()
    proxy = None
    if config.upstream:
        from dedupblock.proxy import Proxy

        proxy = Proxy(config.upstream, checker, metrics, policy, max_body_bytes=config.max_body_bytes,
                      timeout=config.upstream_timeout, check_every=config.stream_check_every)

    async def check(request: Request) -> Response:
        data = await read_json_body(request, config.max_body_bytes)
        text, lang = _check_fields(data)
        t0 = time.perf_counter()
        verdict = await checker.run(checker.check_sync, text, lang)
        metrics.latency.labels("check").observe(time.perf_counter() - t0)
        metrics.checks.labels("check").inc()
        if verdict.blocked:
            metrics.blocks.labels("check", verdict.rule or "").inc()
        out = verdict.to_dict()
        if "id" in data:
            out = {"id": data["id"], **out}
        return JSONResponse(out)

    async def healthz(request: Request) -> Response:
        if not checker.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok", "index": config.index, "upstream": bool(config.upstream),
                             "pid": os.getpid()})

    async def metrics_endpoint(request: Request) -> Response:
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    routes = [Route("/v1/check", check, methods=["POST"]),
              Route("/healthz", healthz, methods=["GET"]),
              Route("/metrics", metrics_endpoint, methods=["GET"])]
    if proxy is not None:
        routes += [Route("/v1/chat/completions", proxy.chat_completions, methods=["POST"]),
                   Route("/v1/completions", proxy.completions, methods=["POST"])]

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        metrics.errors.labels(str(exc.status)).inc()
        return error_response(exc.status, exc.type, exc.message, exc.headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        types = {404: "not_found", 405: "method_not_allowed"}
        msg = {404: f"no such endpoint: {request.url.path}",
               405: f"method {request.method} not allowed on {request.url.path}"}.get(exc.status_code, exc.detail)
        metrics.errors.labels(str(exc.status_code)).inc()
        return error_response(exc.status_code, types.get(exc.status_code, "http_error"), str(msg),
                              dict(exc.headers) if exc.headers else None)

    async def on_crash(request: Request, exc: Exception) -> Response:
        metrics.errors.labels("500").inc()
        return error_response(500, "internal_error", "internal error")

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await checker.start()
        if proxy is not None:
            await proxy.start()
        try:
            yield
        finally:
            if proxy is not None:
                await proxy.close()
            checker.close()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={APIError: on_api_error, HTTPException: on_http_error,
                                        Exception: on_crash})
    app.state.checker = checker
    app.state.metrics = metrics
    app.state.config = config
    app.state.auth_enabled = key is not None
    return AuthMiddleware(app, key)


def app_from_env() -> Any:
    """uvicorn factory for worker processes: the config comes from ``$DEDUPBLOCK_SERVE_CONFIG``."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the service with 'dedupblock serve'")
    return create_app(ServiceConfig.from_json(raw))


def serve(config: ServiceConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: str = "info") -> None:
    """Run uvicorn; several workers share metrics through a multiprocess directory."""
    import tempfile

    import uvicorn

    load_api_key(config.api_key_file)  # fail fast on a bad key file
    os.environ[CONFIG_ENV] = config.to_json()
    tmp = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        tmp = tempfile.TemporaryDirectory(prefix="dedupblock-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tmp.name
    try:
        uvicorn.run("dedupblock.service:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=False, lifespan="on")
    finally:
        if tmp is not None:
            tmp.cleanup()


__all__ = ["ServiceConfig", "create_app", "app_from_env", "serve", "APIError", "read_json_body",
           "load_api_key", "DEFAULT_MAX_BODY"]

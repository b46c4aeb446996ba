"""OpenAI-compatible filtering proxy: ``POST /v1/chat/completions`` and ``POST /v1/completions``.

The request is forwarded unchanged to the upstream (``--upstream URL``, e.g.
``http://127.0.0.1:8001/v1``); the generated content of every choice
(``choices[].message.content`` / ``choices[].text``) is checked and the policy
applied:

* plain responses: the whole content is checked; ``block`` empties it and sets
  ``finish_reason: "content_filter"``, ``redact`` replaces copied spans by a
  marker, ``annotate`` leaves it.  The decision is in the response headers
  (``x-dedupblock-blocked``, ``x-dedupblock-fired``, ``x-dedupblock-rule``,
  ``x-dedupblock-match-id``, ``x-dedupblock-mode``) and in a ``dedupblock``
  field of the body.
* streamed responses (``"stream": true``, server-sent events): each choice
  goes through a :class:`~dedupblock.stream.StreamGuard`; only text it
  releases is forwarded.  A blocked choice ends at once with
  ``finish_reason: "content_filter"``; when every choice has finished the
  upstream stream is closed and ``data: [DONE]`` sent.  The chunk that
  finishes a choice carries a ``dedupblock`` field with its decision.

Tool-call arguments and other delta fields pass through unchecked.
Upstream authentication: ``$DEDUPBLOCK_UPSTREAM_API_KEY`` if set; otherwise,
when the proxy itself has no API key, the client's ``Authorization`` header is
forwarded.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dedupblock.service import APIError, read_json_body

if TYPE_CHECKING:
    from dedupblock.policy import Policy
    from dedupblock.service import Checker, Metrics

UPSTREAM_KEY_ENV = "DEDUPBLOCK_UPSTREAM_API_KEY"
#: request headers worth forwarding upstream (hop-by-hop and length headers are not)
FORWARD_HEADERS = ("accept", "openai-organization", "openai-project", "user-agent")


def _decision_dict(index: int, decision: Any) -> dict[str, Any]:
    return {"index": index, **decision.to_dict()} if decision is not None else {"index": index}


class Proxy:
    def __init__(self, upstream: str, checker: "Checker", metrics: "Metrics", policy: "Policy", *,
                 max_body_bytes: int, timeout: float = 120.0, check_every: int = 16,
                 forward_auth: bool = True) -> None:
        self.upstream = upstream.rstrip("/")
        self.checker = checker
        self.metrics = metrics
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.check_every = check_every
        self.forward_auth = forward_auth
        self.client: Any = None

    async def start(self) -> None:
        import httpx

        self.client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, connect=10.0),
                                        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def chat_completions(self, request: Request) -> Response:
        return await self._handle(request, chat=True)

    async def completions(self, request: Request) -> Response:
        return await self._handle(request, chat=False)

    # -- internals ----------------------------------------------------------
    def _headers(self, request: Request) -> dict[str, str]:
        h = {"content-type": "application/json"}
        for name in FORWARD_HEADERS:
            if name in request.headers:
                h[name] = request.headers[name]
        key = os.environ.get(UPSTREAM_KEY_ENV)
        if key:
            h["authorization"] = f"Bearer {key}"
        elif "authorization" in request.headers and not getattr(request.app.state, "auth_enabled", False):
            h["authorization"] = request.headers["authorization"]
        return h

    async def _handle(self, request: Request, chat: bool) -> Response:
        import httpx

        data = await read_json_body(request, self.max_body_bytes)
        if chat and not isinstance(data.get("messages"), list):
            raise APIError(422, "invalid_field", "field 'messages' must be a list")
        if not chat and "prompt" not in data:
            raise APIError(422, "invalid_field", "missing field 'prompt'")
        stream = data.get("stream", False)
        if not isinstance(stream, bool):
            raise APIError(422, "invalid_field", "field 'stream' must be a boolean")
        n = data.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise APIError(422, "invalid_field", "field 'n' must be a positive integer")
        url = self.upstream + ("/chat/completions" if chat else "/completions")
        body = orjson.dumps(data)
        headers = self._headers(request)
        try:
            if not stream:
                r = await self.client.post(url, content=body, headers=headers)
                return await self._plain(r, chat)
            req = self.client.build_request("POST", url, content=body, headers=headers)
            r = await self.client.send(req, stream=True)
        except httpx.TimeoutException:
            raise APIError(504, "upstream_timeout", "the upstream did not answer in time") from None
        except httpx.HTTPError as exc:
            raise APIError(502, "upstream_unavailable", f"cannot reach the upstream: {type(exc).__name__}") from None
        if r.status_code >= 400 or "text/event-stream" not in r.headers.get("content-type", ""):
            content = await r.aread()
            await r.aclose()
            if r.status_code < 400:  # a plain answer to a stream request: filter it as such
                return await self._plain_bytes(r.status_code, r.headers, content, chat)
            return Response(content, status_code=r.status_code,
                            media_type=r.headers.get("content-type", "application/json"))
        return StreamingResponse(self._stream(r, chat, n), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-dedupblock-mode": self.policy.mode})

    async def _check(self, text: str) -> Any:
        from dedupblock.apply import apply_policy

        t0 = time.perf_counter()
        verdict = await self.checker.run(self.checker.check_sync, text, None)
        self.metrics.latency.labels("proxy").observe(time.perf_counter() - t0)
        self.metrics.checks.labels("proxy").inc()
        if verdict.blocked:
            self.metrics.blocks.labels("proxy", verdict.rule or "").inc()
        return apply_policy(text, verdict, self.policy)

    async def _plain(self, r: Any, chat: bool) -> Response:
        return await self._plain_bytes(r.status_code, r.headers, r.content, chat)

    async def _plain_bytes(self, status: int, headers: Any, content: bytes, chat: bool) -> Response:
        if status >= 400:
            return Response(content, status_code=status, media_type=headers.get("content-type", "application/json"))
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise APIError(502, "bad_upstream_response", "the upstream answered with malformed JSON") from None
        if not isinstance(body, dict):
            raise APIError(502, "bad_upstream_response", "the upstream answer is not a JSON object")
        decisions = []
        for i, ch in enumerate(body.get("choices") or []):
            if not isinstance(ch, dict):
                continue
            idx = ch.get("index", i)
            holder, key = (ch.get("message"), "content") if chat else (ch, "text")
            text = holder.get(key) if isinstance(holder, dict) else None
            if not isinstance(text, str):
                decisions.append((idx, None))
                continue
            d = await self._check(text)
            if d.blocked:
                holder[key] = ""
                ch["finish_reason"] = "content_filter"
            elif d.text is not None:
                holder[key] = d.text
            decisions.append((idx, d))
        fired = [d for _, d in decisions if d is not None and d.fired]
        blocked = any(d.blocked for d in fired)
        body["dedupblock"] = {"mode": self.policy.mode, "blocked": blocked, "fired": bool(fired),
                              "choices": [_decision_dict(i, d) for i, d in decisions]}
        h = {"x-dedupblock-mode": self.policy.mode, "x-dedupblock-blocked": "true" if blocked else "false",
             "x-dedupblock-fired": "true" if fired else "false"}
        if fired:
            h["x-dedupblock-rule"] = fired[0].rule or ""
            h["x-dedupblock-match-id"] = _header_safe(fired[0].match_id or "")
        return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=h)

    async def _stream(self, r: Any, chat: bool, n: int) -> AsyncIterator[bytes]:
        from dedupblock.stream import StreamGuard

        assert self.checker.blocker is not None
        guards: dict[int, StreamGuard] = {}
        done: set[int] = set()
        template: dict[str, Any] = {}
        t_checks = 0.0

        def guard(idx: int) -> StreamGuard:
            g = guards.get(idx)
            if g is None:
                g = guards[idx] = StreamGuard(self.checker.blocker, self.policy, check_every=self.check_every)
            return g

        def finish_payload(idx: int, g: StreamGuard) -> dict[str, Any]:
            self.metrics.checks.labels("proxy_stream").inc()
            if g.fired:
                self.metrics.blocks.labels("proxy_stream", (g.verdict.rule if g.verdict else "") or "").inc()
            return _decision_dict(idx, g.decision)

        def choice(idx: int, text: str, finish: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
            base = dict(extra or {})
            base["index"] = idx
            if chat:
                delta = dict(base.get("delta") or {})
                if text or "content" in delta:
                    delta["content"] = text
                base["delta"] = delta
            else:
                base["text"] = text
            base["finish_reason"] = finish
            return base

        try:
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(chunk, dict):
                    continue
                template = {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
                out: list[dict[str, Any]] = []
                finished: list[dict[str, Any]] = []
                for ch in chunk.get("choices") or []:
                    idx = ch.get("index", 0)
                    if idx in done:
                        continue
                    g = guard(idx)
                    piece = ((ch.get("delta") or {}).get("content") if chat else ch.get("text")) or ""
                    t0 = time.perf_counter()
                    released = await self.checker.run(g.feed, piece)
                    fin = ch.get("finish_reason")
                    if g.fired and g.policy.mode == "block":
                        await self.checker.run(g.finish)
                        fin = "content_filter"
                    elif fin is not None:
                        released += await self.checker.run(g.finish)
                        if g.blocked:
                            fin = "content_filter"
                    t_checks += time.perf_counter() - t0
                    others = {k: v for k, v in (ch.get("delta") or {}).items() if k != "content"} if chat else {}
                    if released or fin is not None or others:
                        out.append(choice(idx, released, fin, {**ch, "delta": others} if chat else ch))
                    if fin is not None:
                        done.add(idx)
                        finished.append(finish_payload(idx, g))
                if out or not chunk.get("choices"):
                    msg = {**chunk, "choices": out}
                    if finished:
                        msg["dedupblock"] = self._stream_summary(finished)
                    yield b"data: " + orjson.dumps(msg) + b"\n\n"
                if len(done) >= n:
                    break  # every choice has finished (or was blocked): stop the upstream
            # the upstream ended without finishing some choices
            rest = [(i, g) for i, g in sorted(guards.items()) if i not in done]
            if rest:
                out, finished = [], []
                for idx, g in rest:
                    tail = await self.checker.run(g.finish)
                    out.append(choice(idx, tail, "content_filter" if g.blocked else "stop"))
                    finished.append(finish_payload(idx, g))
                msg = {**template, "choices": out, "dedupblock": self._stream_summary(finished)}
                yield b"data: " + orjson.dumps(msg) + b"\n\n"
            yield b"data: [DONE]\n\n"
        finally:
            self.metrics.latency.labels("proxy_stream").observe(t_checks)
            await r.aclose()

    def _stream_summary(self, finished: list[dict[str, Any]]) -> dict[str, Any]:
        return {"mode": self.policy.mode, "blocked": any(f.get("blocked") for f in finished),
                "fired": any(f.get("fired") for f in finished), "choices": finished}


def _header_safe(value: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in value)[:512]


__all__ = ["Proxy", "UPSTREAM_KEY_ENV"]

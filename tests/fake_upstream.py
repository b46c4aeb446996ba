"""Test helpers: a tiny protected index, a scripted OpenAI-compatible upstream, servers in threads.

Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from pathlib import Path
from typing import Any

LICENSES = Path("/usr/share/common-licenses")
LICENSE_FILES = ("GPL-3", "Apache-2.0", "MPL-2.0", "Artistic")

#: what the scripted upstream answers when the prompt does not ask for a copy
BENIGN = ("Here is a short original answer written for this test. It talks about streaming filters, "
          "holdback buffers and how a proxy forwards completions to a client without changing them, "
          "then it ends with a friendly sentence that nobody has ever published anywhere before.")


def _generated_docs(n: int = 4, words: int = 1500) -> list[dict[str, Any]]:
    rng = random.Random(1234)
    syll = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bu", "da", "fe", "gi", "ho", "ju", "pe"]
    vocab = ["".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(3000)]
    docs = []
    for i in range(n):
        sents = []
        for _ in range(words // 12):
            s = " ".join(rng.choice(vocab) for _ in range(12))
            sents.append(s[0].upper() + s[1:] + ".")
        docs.append({"id": f"gen/doc-{i}", "text": " ".join(sents), "license": "TEST-1.0",
                     "source": f"generated/{i}.txt", "lang": "text"})
    return docs


def protected_docs() -> list[dict[str, Any]]:
    """A few real-ish protected documents: licence texts if the system has them, else generated text."""
    docs = []
    for name in LICENSE_FILES:
        p = LICENSES / name
        if p.is_file():
            docs.append({"id": f"license/{name}", "text": p.read_text(encoding="utf-8", errors="replace"),
                         "license": name, "source": str(p), "lang": "text"})
    return docs if len(docs) >= 2 else _generated_docs()


def build_test_index(out: Path) -> tuple[Path, list[dict[str, Any]]]:
    from build_index.build import build
    from dedupblock.params import IndexParams

    docs = protected_docs()
    build(docs, str(out), IndexParams())
    return out, docs


def passage(doc: dict[str, Any], start_frac: float = 0.3, length: int = 900) -> str:
    """A passage of ``length`` characters starting at a word boundary."""
    text = doc["text"]
    s = int(len(text) * start_frac)
    s = text.index(" ", s) + 1
    return text[s:s + length]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                     lifespan="on", access_log=False)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def fake_upstream_app(script: dict[str, str], chunk_seed: int = 0, delay: float = 0.002) -> Any:
    """An OpenAI-compatible upstream answering from ``script``.

    The answer is ``script[key]`` for the first key that occurs in the last
    user message (or the prompt), else :data:`BENIGN`.  Streams are cut into
    chunks of 1-12 characters, ``delay`` seconds apart (a model is not instant).  ``app.state.requests`` records what arrived
    and ``app.state.streamed`` how many characters each stream sent before the
    client went away.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    def answer_for(prompt: str) -> str:
        for key, text in script.items():
            if key in prompt:
                return text
        return BENIGN

    async def handle(request: Request, chat: bool) -> Any:
        body = await request.json()
        app.state.requests.append({"path": request.url.path, "body": body,
                                   "authorization": request.headers.get("authorization")})
        if chat:
            prompt = body["messages"][-1]["content"]
        else:
            prompt = body["prompt"] if isinstance(body["prompt"], str) else " ".join(body["prompt"])
        if "UPSTREAM_ERROR" in prompt:
            return JSONResponse({"error": {"type": "server_error", "message": "scripted failure"}},
                                status_code=500)
        text = answer_for(prompt)
        n = int(body.get("n", 1))
        base = {"id": "cmpl-test", "created": 1700000000, "model": body.get("model", "fake")}
        if not body.get("stream"):
            if chat:
                choices = [{"index": i, "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop", "logprobs": None} for i in range(n)]
                obj = "chat.completion"
            else:
                choices = [{"index": i, "text": text, "finish_reason": "stop", "logprobs": None}
                           for i in range(n)]
                obj = "text_completion"
            return JSONResponse({**base, "object": obj, "choices": choices,
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 50, "total_tokens": 55}})

        rng = random.Random(chunk_seed)
        sent = {"chars": 0}
        app.state.streamed.append(sent)

        async def events() -> Any:
            obj = "chat.completion.chunk" if chat else "text_completion"
            if chat:
                yield _sse({**base, "object": obj, "choices": [
                    {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    for i in range(n)]})
            i = 0
            while i < len(text):
                k = rng.randint(1, 12)
                piece = text[i:i + k]
                i += k
                sent["chars"] = i
                if delay:
                    await asyncio.sleep(delay)
                for c in range(n):
                    ch = ({"index": c, "delta": {"content": piece}, "finish_reason": None} if chat
                          else {"index": c, "text": piece, "finish_reason": None, "logprobs": None})
                    yield _sse({**base, "object": obj, "choices": [ch]})
            for c in range(n):
                ch = ({"index": c, "delta": {}, "finish_reason": "stop"} if chat
                      else {"index": c, "text": "", "finish_reason": "stop", "logprobs": None})
                yield _sse({**base, "object": obj, "choices": [ch]})
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def chat(request: Request) -> Any:
        return await handle(request, True)

    async def completions(request: Request) -> Any:
        return await handle(request, False)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/v1/completions", completions, methods=["POST"])])
    app.state.requests = []
    app.state.streamed = []
    return app


def _sse(obj: dict[str, Any]) -> str:
    return "data: " + json.dumps(obj) + "\n\n"

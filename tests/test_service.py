"""The HTTP service: /v1/check, /healthz, /metrics, API key, size limit, JSON errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dedupblock.service import ServiceConfig, create_app, load_api_key
from tests.fake_upstream import ServerThread, build_test_index, passage

KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    return build_test_index(tmp_path_factory.mktemp("svc") / "idx")


@pytest.fixture(scope="module")
def server(index):
    app = create_app(ServiceConfig(index=str(index[0]), max_body_bytes=64 * 1024), api_key=KEY)
    with ServerThread(app) as srv:
        yield srv


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c:
        yield c


def _err(r: httpx.Response, status: int, type_: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    if type_:
        assert body["error"]["type"] == type_
    return body["error"]


def test_check_blocks_a_copy_and_never_returns_protected_text(client, index) -> None:
    _, docs = index
    p = passage(docs[1], 0.5, 600)
    r = client.post("/v1/check", json={"text": "As requested: " + p, "lang": "text"})
    assert r.status_code == 200
    v = r.json()
    assert set(v) >= {"blocked", "score", "match_id", "matches", "rule"}
    assert v["blocked"] and v["match_id"] == docs[1]["id"] and v["rule"] in ("exact_run", "near_copy")
    sp = v["matches"][0]["spans"][0]
    assert set(sp) >= {"output", "source"} and v["matches"][0]["license"] == docs[1]["license"]
    for i in range(0, len(p) - 40, 40):  # no 40-char piece of the passage anywhere in the answer
        assert p[i:i + 40] not in r.text


def test_check_passes_original_text(client) -> None:
    r = client.post("/v1/check", json={"text": "An original sentence about nothing in particular, " * 4})
    assert r.status_code == 200 and r.json()["blocked"] is False and r.json()["matches"] == []
    r = client.post("/v1/check", json={"text": "", "id": "x1"})
    assert r.json() == {"id": "x1", "blocked": False, "score": 0.0, "match_id": None, "rule": None, "matches": []}


def test_auth(server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/healthz").status_code == 200  # open
        _err(c.post("/v1/check", json={"text": "x"}), 401, "unauthorized")
        r = c.post("/v1/check", json={"text": "x"}, headers={"Authorization": "Bearer wrong"})
        _err(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
        _err(c.post("/v1/check", json={"text": "x"}, headers={"Authorization": KEY}), 401)  # no scheme
        _err(c.get("/metrics"), 401)
        assert c.post("/v1/check", json={"text": "x"}, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_malformed_requests(client) -> None:
    _err(client.post("/v1/check", content=b"{not json"), 400, "invalid_json")
    _err(client.post("/v1/check", content=b""), 400, "invalid_json")
    _err(client.post("/v1/check", json=["text"]), 400, "invalid_json")
    _err(client.post("/v1/check", content="\"just a string\""), 400, "invalid_json")
    _err(client.post("/v1/check", json={"txt": "x"}), 422, "invalid_field")
    _err(client.post("/v1/check", json={"text": 42}), 422, "invalid_field")
    _err(client.post("/v1/check", json={"text": "x", "lang": ["python"]}), 422, "invalid_field")
    _err(client.get("/v1/nothing-here"), 404, "not_found")
    _err(client.get("/v1/check"), 405, "method_not_allowed")
    _err(client.post("/healthz"), 405)


def test_size_limit_by_header_and_while_streaming(client, server) -> None:
    big = {"text": "a" * (70 * 1024)}
    _err(client.post("/v1/check", json=big), 413, "request_too_large")

    sent = {"bytes": 0}

    def body():  # chunked upload, no Content-Length: refused while it streams in
        for _ in range(1000):
            sent["bytes"] += 8192
            yield b"x" * 8192

    try:
        r = client.post("/v1/check", content=body())
        _err(r, 413, "request_too_large")
    except httpx.HTTPError:
        pass  # the server may close the connection before the upload ends; that is a refusal too


def test_body_is_not_read_past_the_limit(index) -> None:
    """At the ASGI level: the app stops pulling body chunks once over the limit."""
    import asyncio

    app = create_app(ServiceConfig(index=str(index[0]), max_body_bytes=64 * 1024), api_key="")
    pulled = {"n": 0}
    sent: list[dict] = []

    async def receive() -> dict:
        pulled["n"] += 1
        return {"type": "http.request", "body": b"x" * 8192, "more_body": pulled["n"] < 10_000}

    async def send(msg: dict) -> None:
        sent.append(msg)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/check", "raw_path": b"/v1/check", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "root_path": "", "state": {}}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert pulled["n"] <= 64 * 1024 // 8192 + 2


def test_healthz_and_metrics(client) -> None:
    h = client.get("/healthz").json()
    assert h["status"] == "ok"
    client.post("/v1/check", json={"text": "count me"})
    m = client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'dedupblock_checks_total{endpoint="check"}' in text
    assert "dedupblock_blocks_total" in text
    assert 'dedupblock_check_latency_seconds_bucket{endpoint="check",le="0.001"}' in text


def test_api_key_sources(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DEDUPBLOCK_API_KEY", raising=False)
    assert load_api_key(None) is None
    monkeypatch.setenv("DEDUPBLOCK_API_KEY", "from-env")
    assert load_api_key(None) == "from-env"
    f = tmp_path / "key"
    f.write_text("from-file\n")
    assert load_api_key(str(f)) == "from-file"
    f.write_text("\n")
    with pytest.raises(ValueError):
        load_api_key(str(f))

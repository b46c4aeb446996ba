"""The OpenAI-compatible proxy, driven by the official ``openai`` client, over a scripted upstream."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from dedupblock.service import ServiceConfig, create_app
from tests.fake_upstream import BENIGN, ServerThread, build_test_index, fake_upstream_app, passage

KEY = "proxy-key-42"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    return build_test_index(tmp_path_factory.mktemp("proxy") / "idx")


@pytest.fixture(scope="module")
def copy_text(index) -> str:
    _, docs = index
    return "Certainly! Here is the text you asked for:\n\n" + passage(docs[0], 0.45, 1200) + "\n\nAnything else?"


@pytest.fixture(scope="module")
def upstream(copy_text):
    app = fake_upstream_app({"COPY": copy_text}, chunk_seed=7)
    with ServerThread(app) as srv:
        srv.app = app
        yield srv


def _proxy(index, upstream, mode: str = "block"):
    cfg = ServiceConfig(index=str(index[0]), upstream=upstream.url + "/v1", policy={"mode": mode})
    return ServerThread(create_app(cfg, api_key=KEY))


@pytest.fixture(scope="module")
def proxy(index, upstream):
    with _proxy(index, upstream) as srv:
        yield srv


@pytest.fixture()
def client(proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=KEY, max_retries=0, timeout=30)


def _ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_plain_benign_passes_with_headers(client) -> None:
    raw = client.chat.completions.with_raw_response.create(model="m", messages=_ask("hello"))
    assert raw.headers["x-dedupblock-blocked"] == "false"
    r = raw.parse()
    assert r.choices[0].message.content == BENIGN and r.choices[0].finish_reason == "stop"
    assert r.model_extra["dedupblock"]["blocked"] is False


def test_plain_copy_is_blocked(client, index) -> None:
    _, docs = index
    raw = client.chat.completions.with_raw_response.create(model="m", messages=_ask("COPY please"))
    assert raw.headers["x-dedupblock-blocked"] == "true"
    assert raw.headers["x-dedupblock-match-id"] == docs[0]["id"]
    assert raw.headers["x-dedupblock-rule"] in ("exact_run", "near_copy")
    r = raw.parse()
    assert r.choices[0].message.content == "" and r.choices[0].finish_reason == "content_filter"
    info = r.model_extra["dedupblock"]
    assert info["blocked"] and info["choices"][0]["match_id"] == docs[0]["id"]


def test_stream_benign_is_forwarded_whole(client) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=_ask("hi"), stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == BENIGN
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["dedupblock"]["blocked"] is False


def test_stream_copy_ends_with_content_filter(client, copy_text, upstream, index) -> None:
    _, docs = index
    chunks = list(client.chat.completions.create(model="m", messages=_ask("COPY now"), stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    start = copy_text.index(passage(docs[0], 0.45, 1200))
    assert copy_text.startswith(text)
    assert len(text) - start <= 120  # at most N = min_match_chars characters of the copy
    fin = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(fin) == 1 and fin[0].choices[0].finish_reason == "content_filter"
    info = fin[0].model_extra["dedupblock"]
    assert info["blocked"] and info["choices"][0]["match_id"] == docs[0]["id"]
    # the proxy stopped reading the upstream early
    assert upstream.app.state.streamed[-1]["chars"] < len(copy_text)


def test_completions_plain_and_stream(client) -> None:
    r = client.completions.create(model="m", prompt="COPY")
    assert r.choices[0].text == "" and r.choices[0].finish_reason == "content_filter"
    r = client.completions.create(model="m", prompt="hi")
    assert r.choices[0].text == BENIGN
    chunks = list(client.completions.create(model="m", prompt="hi", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == BENIGN
    chunks = list(client.completions.create(model="m", prompt="COPY", stream=True))
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_stream_several_choices(client) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=_ask("hi"), stream=True, n=2))
    for i in range(2):
        assert "".join(c.choices[0].delta.content or "" for c in chunks
                       if c.choices and c.choices[0].index == i) == BENIGN


def test_auth_and_errors(proxy, client) -> None:
    bad = openai.OpenAI(base_url=proxy.url + "/v1", api_key="wrong", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", messages=_ask("hi"))
    with pytest.raises(openai.InternalServerError):  # upstream failures pass through
        client.chat.completions.create(model="m", messages=_ask("UPSTREAM_ERROR"))
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="m", messages="not a list")  # type: ignore[arg-type]


def test_upstream_sees_no_proxy_key(upstream, client) -> None:
    client.chat.completions.create(model="m", messages=_ask("hi"))
    assert upstream.app.state.requests[-1]["authorization"] is None


@pytest.mark.parametrize("mode", ["redact", "annotate"])
def test_redact_and_annotate_modes(index, upstream, copy_text, mode: str) -> None:
    _, docs = index
    with _proxy(index, upstream, mode) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0, timeout=30)
        raw = c.chat.completions.with_raw_response.create(model="m", messages=_ask("COPY"))
        assert raw.headers["x-dedupblock-fired"] == "true" and raw.headers["x-dedupblock-blocked"] == "false"
        r = raw.parse()
        content = r.choices[0].message.content
        chunks = list(c.chat.completions.create(model="m", messages=_ask("COPY"), stream=True))
        streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        if mode == "redact":
            assert f"[REDACTED: {docs[0]['id']}" in content and content.startswith("Certainly!")
            assert content.endswith("Anything else?")
            assert f"[REDACTED: {docs[0]['id']}" in streamed and streamed.endswith("Anything else?")
        else:
            assert content == copy_text and streamed == copy_text
            att = r.model_extra["dedupblock"]["choices"][0]["attributions"][0]
            assert att["doc_id"] == docs[0]["id"] and att["license"] == docs[0]["license"]

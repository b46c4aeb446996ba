"""The CLI contract: exact command forms, output fields, and one-line errors for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(tool: str, *args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], input=stdin, capture_output=True, cwd=cwd, timeout=300)


def one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    err = p.stderr.decode()
    assert p.returncode != 0, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], err


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "idx"
    p = run("build-index", "build", "--input", str(ROOT / "samples/protected.jsonl"), "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    assert "indexed 15 documents" in p.stderr.decode()
    return out


def test_check_writes_one_line_per_record(cli_index: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    src = [json.loads(line) for line in (ROOT / "samples/outputs.jsonl").read_text().splitlines()]
    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps({"qid": r["id"], "text": r["text"]}) + "\n" for r in src))
    p = run("dedupblock", "check", "--index", str(cli_index), "--input", str(queries), "--id-field", "qid",
            "--output", str(out))
    assert p.returncode == 0, p.stderr.decode()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [v["qid"] for v in lines] == [r["id"] for r in src]
    for v in lines:
        assert set(v) >= {"qid", "blocked", "score", "match_id", "matches"}
        assert isinstance(v["blocked"], bool) and isinstance(v["score"], float)
        for m in v["matches"]:
            assert {"doc_id", "similarity", "spans", "license", "source"} <= set(m)
    assert lines[0]["blocked"] and lines[0]["match_id"] == "license/GPL-3"
    assert not lines[4]["blocked"] and lines[4]["match_id"] is None


def test_check_stdin_stdout(cli_index: Path) -> None:
    rec = json.dumps({"id": 7, "text": (ROOT / "samples/protected.jsonl").read_text()[300:1500]})
    p = run("dedupblock", "check", "--index", str(cli_index), "--input", "-", "--output", "-",
            stdin=rec.encode() + b"\n")
    assert p.returncode == 0, p.stderr.decode()
    v = json.loads(p.stdout)
    assert v["id"] == "7" and "blocked" in v


def test_query_table_and_json(cli_index: Path, sample_records: list[dict]) -> None:
    text = next(r for r in sample_records if r["id"] == "license/BSD")["text"][200:900]
    p = run("dedupblock", "query", "--index", str(cli_index), "--text", text)
    assert p.returncode == 0 and "BLOCKED" in p.stdout.decode() and "license/BSD" in p.stdout.decode()
    p = run("dedupblock", "query", "--index", str(cli_index), "--json", "-", stdin=text.encode())
    assert json.loads(p.stdout)["match_id"] == "license/BSD"
    f = Path(cli_index).parent / "q.txt"
    f.write_text(text)
    p = run("dedupblock", "query", "--index", str(cli_index), "--file", str(f), "--json")
    assert json.loads(p.stdout)["blocked"] is True


def test_info(cli_index: Path) -> None:
    p = run("dedupblock", "info", "--index", str(cli_index), "--json")
    info = json.loads(p.stdout)
    assert info["documents"] == 15 and info["params"]["shingle"] == 5 and info["bytes_per_token"] > 0
    assert "parameters" in run("dedupblock", "info", "--index", str(cli_index)).stdout.decode()


@pytest.mark.parametrize("content,needles", [
    (b'{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', ("q.jsonl:2", "malformed JSON")),
    (b'{"id": "a", "text": "ok"}\n{"text": "no id"}\n', ("q.jsonl:2", "missing field 'id'")),
    (b'{"id": "a"}\n', ("q.jsonl:1", "missing field 'text'")),
    (b'{"id": "a", "text": 5}\n', ("q.jsonl:1", "must be a string")),
    (b'["not", "an", "object"]\n', ("q.jsonl:1", "expected a JSON object")),
    (b'{"id": "a", "text": "caf\xe9"}\n', ("q.jsonl:1", "invalid UTF-8")),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", ("binary",)),
])
def test_bad_input_is_one_line_error(cli_index: Path, tmp_path: Path, content: bytes, needles) -> None:
    q = tmp_path / "q.jsonl"
    q.write_bytes(content)
    one_line_error(run("dedupblock", "check", "--index", str(cli_index), "--input", str(q)), *needles)
    one_line_error(run("build-index", "build", "--input", str(q), "--out", str(tmp_path / "i")), *needles)
    assert not (tmp_path / "i").exists()


def test_missing_fields_with_custom_id_field(cli_index: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": "x", "text": "t"}\n')
    one_line_error(run("dedupblock", "check", "--index", str(cli_index), "--input", str(q), "--id-field", "qid"),
                   "missing field 'qid'")


def test_not_an_index(tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": "x", "text": "t"}\n')
    one_line_error(run("dedupblock", "check", "--index", str(tmp_path / "nope"), "--input", str(q)),
                   "does not exist")
    one_line_error(run("dedupblock", "check", "--index", str(tmp_path), "--input", str(q)),
                   "not a dedupblock index")
    one_line_error(run("dedupblock", "info", "--index", str(q)), "not a dedupblock index")


def test_incompatible_index(cli_index: Path, tmp_path: Path) -> None:
    import shutil

    import lmdb

    copy = tmp_path / "idx"
    shutil.copytree(cli_index, copy)
    env = lmdb.open(str(copy))
    with env.begin(write=True) as txn:
        params = json.loads(txn.get(b"meta/params"))
        params["featurizers"]["text"] = "text-0"
        txn.put(b"meta/params", json.dumps(params).encode())
    env.close()
    one_line_error(run("dedupblock", "query", "--index", str(copy), "--text", "hello"), "text-0", "rebuild")


def test_missing_input_file_and_existing_output(cli_index: Path, tmp_path: Path) -> None:
    one_line_error(run("dedupblock", "check", "--index", str(cli_index), "--input", str(tmp_path / "no.jsonl")),
                   "no such file")
    one_line_error(run("build-index", "build", "--input", str(ROOT / "samples/protected.jsonl"), "--out",
                       str(cli_index)), "already exists", "--force")


def test_query_needs_exactly_one_source(cli_index: Path) -> None:
    p = run("dedupblock", "query", "--index", str(cli_index))
    assert p.returncode == 2 and "exactly one" in p.stderr.decode() and "Traceback" not in p.stderr.decode()


def test_invalid_utf8_file_for_query(cli_index: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(b"abc \xff\xfe def")
    one_line_error(run("dedupblock", "query", "--index", str(cli_index), "--file", str(f)), "invalid UTF-8")


def test_huge_document_limit(cli_index: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "big", "text": "word " * 3000}) + "\n")
    one_line_error(run("dedupblock", "check", "--index", str(cli_index), "--input", str(q), "--max-doc-chars",
                       "1000"), "q.jsonl:1", "over the limit", "--max-doc-chars")
    p = run("dedupblock", "check", "--index", str(cli_index), "--input", str(q))
    assert p.returncode == 0


def test_fail_on_block_exit_status(cli_index: Path) -> None:
    rec = next(json.loads(line) for line in (ROOT / "samples/outputs.jsonl").read_text().splitlines())
    p = run("dedupblock", "check", "--index", str(cli_index), "--input", "-", "--fail-on-block",
            stdin=(json.dumps(rec) + "\n").encode())
    assert p.returncode == 1

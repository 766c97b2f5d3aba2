"""Batch Transform's side of `serve`: score records, JSON Lines bodies of N records, and what
/execution-parameters advertises (the values are checked in test_serving.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import http, wait_ping
from test_serving import start_server, stop

JSONL = {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"}


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    base = tmp_path_factory.mktemp("serve-batch")
    shutil.copytree(trained[0] / "model", base / "model")
    # Scoring a new length compiles on first use: on 2 busy cores that can pass the default 120 s deadline.
    proc, port = start_server(base, JAXSM_REQUEST_TIMEOUT_S="290")
    wait_ping(port, proc, timeout=600)
    yield f"http://127.0.0.1:{port}", base / "model"
    stop(proc)


def score(url: str, text: str) -> dict:
    status, _, body = http(
        "POST", url + "/invocations", json.dumps({"score": text}).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, body
    return json.loads(body)


def trainer_loss(model_dir: Path, text: str) -> float:
    """The trainer's own loss function (jaxsm.steps._loss) on the tokens a document of `text` is."""
    import jax.numpy as jnp
    from flax import serialization

    from jaxsm.model import ModelConfig, build_model
    from jaxsm.steps import _loss
    from jaxsm.tokenizer import EOS_ID

    config = ModelConfig.from_dict(json.loads((model_dir / "config.json").read_text())["model"])
    params = serialization.msgpack_restore((model_dir / "params.msgpack").read_bytes())
    tokens = np.concatenate([[EOS_ID], np.frombuffer(text.encode(), np.uint8)]).astype(np.int32)[None, :]
    return float(_loss(build_model(config, dtype=jnp.float32), params, jnp.asarray(tokens), True))


def test_score_equals_the_trainers_loss_on_the_same_text(server):
    url, model_dir = server
    text = "The quick brown fox jumps over the lazy dog."
    answer = score(url, text)
    assert answer["tokens"] == len(text.encode())
    assert answer["nll"] == pytest.approx(trainer_loss(model_dir, text), rel=1e-4, abs=1e-4)
    # A trained model finds its own kind of text likelier than noise.
    assert score(url, "zqxj vkwp" * 3)["nll"] > answer["nll"]


def test_a_text_longer_than_the_context_is_scored_in_full(server):
    url, model_dir = server
    seq_len = json.loads((model_dir / "config.json").read_text())["model"]["seq_len"]
    text = "abc " * (seq_len // 2 + 7)
    answer = score(url, text)
    assert answer["tokens"] == len(text)
    assert np.isfinite(answer["nll"]) and answer["nll"] > 0


def test_jsonlines_body_is_answered_line_by_line_in_order(server):
    url, _ = server
    texts = [f"record number {i} " + "x" * (i * 7) for i in range(12)]
    records: list[dict[str, object]] = [{"score": t} for t in texts]
    records.insert(5, {"inputs": "Once upon", "parameters": {"max_new_tokens": 4, "temperature": 0}})
    body = "\n".join(json.dumps(r) for r in records).encode() + b"\n\n"  # a blank line is not a record
    status, headers, answer = http("POST", url + "/invocations", body, JSONL)
    assert status == 200, answer
    assert headers["Content-Type"] == "application/jsonlines"
    lines = answer.decode().splitlines()
    assert len(lines) == len(records)
    parsed = [json.loads(line) for line in lines]
    assert "generated_text" in parsed[5]
    scored = parsed[:5] + parsed[6:]
    assert [p["tokens"] for p in scored] == [len(t) for t in texts]
    # Each record is answered as one request would be.
    assert scored[3]["nll"] == pytest.approx(score(url, texts[3])["nll"], rel=1e-5)


@pytest.mark.parametrize(
    ("line", "status", "fragment"),
    [
        ('{"score": ""}', 400, '"score" must be a non-empty string'),
        ("{not json", 400, "not valid JSON"),
        ('{"score": "a", "extra": 1}', 400, "unknown field"),
    ],
)
def test_a_bad_record_fails_the_body_naming_its_index(server, line, status, fragment):
    url, _ = server
    body = "\n".join(['{"score": "fine"}', '{"score": "also fine"}', line]).encode()
    code, _, answer = http("POST", url + "/invocations", body, JSONL)
    assert code == status, answer
    message = json.loads(answer)["message"]
    assert message.startswith("record 2 (line 3): ") and fragment in message


def test_jsonlines_cannot_be_answered_in_another_type(server):
    url, _ = server
    code, _, _ = http("POST", url + "/invocations", b'{"score": "a"}\n', {**JSONL, "Accept": "text/csv"})
    assert code == 406


def test_a_record_holding_unicode_line_separators_stays_one_record(server):
    """Batch Transform's SplitType Line splits on "\\n" only; prepare writes U+2028, U+2029 and U+0085 raw
    (json.dumps with ensure_ascii=False), so the body must not be split at them as str.splitlines() would."""
    url, _ = server
    texts = ["one\u2028two", "three\u2029four", "five\u0085six", "plain"]
    lines = [json.dumps({"score": t}, ensure_ascii=False) for t in texts]
    assert all(ch in "".join(lines) for ch in "\u2028\u2029\u0085")  # written raw, as prepare writes them
    body = ("\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:]) + "\n").encode()
    code, _, answer = http("POST", url + "/invocations", body, JSONL, timeout=300)
    assert code == 200, answer
    scored = [json.loads(line) for line in answer.decode().split("\n") if line]
    assert [s["tokens"] for s in scored] == [len(t.encode()) for t in texts]

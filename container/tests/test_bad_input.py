"""The bad-input corpus (bench/chaos/corpus/bad-input/): broken hyperparameters fail `train` with a
failure file naming the hyperparameter; broken /invocations requests each get the expected 4xx
with a JSON error naming the problem from a real `serve` (tiny trained model); slow clients get
a 408 instead of holding a connection forever; and the server keeps serving good requests."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, TINY, child_env, free_port, make_base, run_train, wait_ping

FIXTURES = Path(__file__).resolve().parents[2] / "bench" / "chaos" / "corpus" / "bad-input"
HPS = json.loads((FIXTURES / "hyperparameters.json").read_text())["cases"]
INVOCATIONS = json.loads((FIXTURES / "invocations.json").read_text())["cases"]
READ_TIMEOUT_S = 2
GOOD = json.dumps({"inputs": "The ", "parameters": {"max_new_tokens": 2}}).encode()


@pytest.mark.parametrize("case", HPS, ids=[c["name"] for c in HPS])
def test_broken_hyperparameters_fail_train_naming_them(case, tmp_path):
    base = tmp_path / "job"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(case["hyperparameters"]))
    proc = run_train(base, timeout=120)
    assert proc.returncode != 0
    assert case["expect"] in (base / "output" / "failure").read_text()


def case_body(case: dict) -> bytes:
    if "bodyBase64" in case:
        return base64.b64decode(case["bodyBase64"])
    if "bodyRepeat" in case:
        return case["bodyRepeat"]["text"].encode() * case["bodyRepeat"]["times"]
    return case["body"].encode()


def raw_request(
    port: int, method: str, path: str, headers: dict, body: bytes, timeout: float = 60
) -> tuple[int, bytes]:
    """Sends one HTTP/1.1 request as given; returns (status, body).

    Content-Length is added unless a length header is set."""
    names = {k.lower() for k in headers}
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if "content-length" not in names and "transfer-encoding" not in names and (body or method == "POST"):
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413, 431) and close before reading everything
        return read_response(s)


def read_response(s: socket.socket) -> tuple[int, bytes]:
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body


@pytest.fixture(scope="module")
def server(tmp_path_factory, corpus):
    base = make_base(
        tmp_path_factory.mktemp("bad-input-model"),
        corpus,
        {**TINY, "max_steps": "10", "eval_every": "5", "checkpoint_every": "10"},
    )
    trained = run_train(base)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    serve_base = tmp_path_factory.mktemp("bad-input-serve")
    (base / "model").rename(serve_base / "model")
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "serve"],
        env=child_env(
            serve_base,
            SAGEMAKER_BIND_TO_PORT=str(port),
            JAXSM_BIND_HOST="127.0.0.1",
            JAXSM_READ_TIMEOUT_S=str(READ_TIMEOUT_S),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ping(port, proc, timeout=600)
    yield port, proc
    proc.terminate()
    proc.wait(30)


@pytest.mark.parametrize("case", INVOCATIONS, ids=[c["name"] for c in INVOCATIONS])
def test_broken_request_gets_a_clear_4xx(server, case):
    port, _ = server
    status, body = raw_request(port, case["method"], case["path"], case["headers"], case_body(case))
    assert status == case["expectStatus"], body[:300]
    assert case["expectMessage"] in json.loads(body)["message"]


def test_slow_body_gets_408(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
        for b in b'{"inputs":':  # one byte a second, as a slowloris client does
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(1)
        status, body = read_response(s)
    assert status == 408
    assert f"request body not received within {READ_TIMEOUT_S} s" in json.loads(body)["message"]


def test_slow_headers_get_408(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        for b in b"POST /invocations HTTP/1.1\r\nContent-Type: appl":
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.5)
        status, body = read_response(s)
    assert status == 408
    assert "request headers not received" in json.loads(body)["message"]


def test_silent_connection_is_closed(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        assert s.recv(1) == b""  # closed by the server (a timeout here would raise)


def test_good_requests_are_served_while_slow_clients_hold_connections(server):
    port, proc = server
    slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(50)]
    try:
        for s in slow:
            s.sendall(b"POST /invocations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        for _ in range(5):
            status, body = raw_request(port, "POST", "/invocations", {"Content-Type": "application/json"}, GOOD)
            assert status == 200 and "generated_text" in json.loads(body)
    finally:
        for s in slow:
            s.close()
    assert proc.poll() is None


def test_unparseable_request_gets_a_json_400(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, body = read_response(s)
    assert status == 400
    assert "malformed request" in json.loads(body)["message"]

"""`serve`: ping, invocations (single and batched), streaming, back-pressure, every error status,
drain, user handler."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import BIN, child_env, free_port, http, wait_ping

HERE = Path(__file__).parent


def start_server(base: Path, **env) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "serve"],
        env=child_env(base, SAGEMAKER_BIND_TO_PORT=str(port), JAXSM_BIND_HOST="127.0.0.1", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read()


@pytest.fixture(scope="module")
def builtin_server(trained, tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    shutil.copytree(trained[0] / "model", base / "model")
    proc, port = start_server(base)
    ready_s = wait_ping(port, proc, timeout=600)
    yield f"http://127.0.0.1:{port}", ready_s
    stop(proc)


@pytest.fixture(scope="module")
def saturated_server(trained, tmp_path_factory):
    """The built-in handler with one slot and a waiting room of one: easy to saturate."""
    base = tmp_path_factory.mktemp("serve-saturated")
    shutil.copytree(trained[0] / "model", base / "model")
    proc, port = start_server(base, JAXSM_SLOTS="1", JAXSM_MAX_QUEUE="1")
    wait_ping(port, proc, timeout=600)
    yield port
    stop(proc)


@pytest.fixture(scope="module")
def user_server(trained, tmp_path_factory):
    base = tmp_path_factory.mktemp("serve-user")
    shutil.copytree(trained[0] / "model", base / "model")
    shutil.copytree(HERE / "user_handler", base / "model" / "code")
    proc, port = start_server(base, JAXSM_MAX_QUEUE="1", JAXSM_MAX_BATCH="1")
    url = f"http://127.0.0.1:{port}"
    # model_fn sleeps 2 s: the server is up but must not claim to be ready yet
    t0 = time.monotonic()
    while True:
        try:
            status = http("GET", url + "/ping", timeout=2)[0]
            break
        except OSError:
            assert time.monotonic() - t0 < 120
            time.sleep(0.05)
    wait_ping(port, proc, timeout=300)
    yield url, status, proc
    stop(proc)


def post(url, payload, headers=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    h = {"Content-Type": "application/json", **(headers or {})}
    return http("POST", url + "/invocations", body, h)


def test_ping_and_execution_parameters(builtin_server):
    # How fast /ping turns ready is a bar measured by bench/ (serving.md), not asserted here.
    url, _ready_s = builtin_server
    assert http("GET", url + "/ping")[0] == 200
    status, _, body = http("GET", url + "/execution-parameters")
    assert status == 200
    # MULTI_RECORD because a JSON Lines body is N records; 6 MB is AWS's default and the body limit;
    # concurrency: full bodies (16 CPU slots each) that fit the waiting room of 256 without a 503.
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 256 // 16,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_single_and_list_inputs(builtin_server):
    url, _ = builtin_server
    params = {"max_new_tokens": 12, "temperature": 0, "seed": 3}
    status, headers, body = post(url, {"inputs": "The assert statement", "parameters": params})
    assert status == 200 and headers["Content-Type"] == "application/json"
    one = json.loads(body)
    assert set(one) == {"generated_text"} and 0 < len(one["generated_text"].encode()) <= 12 * 4
    status, _, body = post(url, {"inputs": ["The assert statement", "Class"], "parameters": params})
    many = json.loads(body)
    assert status == 200 and isinstance(many, list) and len(many) == 2
    assert many[0] == one  # greedy decoding is deterministic, alone or batched
    status, _, body = post(url, {"inputs": "x", "parameters": {"max_new_tokens": 5}}, {"Accept": "application/json"})
    assert status == 200


def test_concurrent_requests_are_batched(builtin_server):
    url, _ = builtin_server
    results = []

    def client(i):
        results.append(post(url, {"inputs": f"prompt {i}", "parameters": {"max_new_tokens": 24, "seed": i}}))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [200] * 24
    assert max(int(r[1]["X-Jaxsm-Batch"]) for r in results) > 1


@pytest.mark.parametrize(
    "payload,raw,headers,status,fragment",
    [
        (None, b"{not json", {}, 400, "not valid JSON"),
        ({"inputs": 5}, None, {}, 400, '"inputs" must be a string'),
        (
            {"inputs": "a", "parameters": {"max_new_tokens": 0}},
            None,
            {},
            400,
            "parameters.max_new_tokens must be an integer in [1, 4096]",
        ),
        ({"inputs": "a", "parameters": {"top_p": 1}}, None, {}, 400, "unknown parameter(s) ['top_p']"),
        ({"inputs": "a"}, None, {"Content-Type": "text/csv"}, 415, "unsupported Content-Type 'text/csv'"),
        ({"inputs": "a"}, None, {"Accept": "text/csv"}, 406, "cannot produce Accept 'text/csv'"),
    ],
)
def test_client_errors(builtin_server, payload, raw, headers, status, fragment):
    url, _ = builtin_server
    got, _, body = post(url, payload, headers, raw)
    assert got == status
    assert fragment in json.loads(body)["message"]


def test_body_over_6_mib_is_413(builtin_server):
    url, _ = builtin_server
    got, _, body = post(url, None, raw=b" " * (6 * 1024 * 1024 + 1))
    assert got == 413 and "6 MiB" in json.loads(body)["message"]


def test_unknown_route_and_method(builtin_server):
    url, _ = builtin_server
    assert http("GET", url + "/nope")[0] == 404
    assert http("GET", url + "/invocations")[0] == 405


def test_user_handler_wins_and_ping_waits_for_load(user_server):
    url, first_ping, _ = user_server
    assert first_ping == 503  # listening, but model_fn had not returned yet
    status, _, body = post(url, None, raw=b"hello")
    assert status == 200
    reply = json.loads(body)
    assert reply["handler"] == "user" and reply["echo"] == "hello" and reply["model"].endswith("model")


def test_500_hides_the_traceback(user_server):
    url, _, proc = user_server
    status, _, body = post(url, None, raw=b"boom")
    assert status == 500
    text = body.decode()
    assert "Traceback" not in text and "secret-internal-detail" not in text and "predict" in text


def test_full_queue_is_503_with_retry_after(user_server):
    url, _, _ = user_server
    results = []

    def client(i):
        results.append(post(url, None, raw=f"slow {i}".encode()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    assert 200 in statuses and 503 in statuses
    assert all(r[1].get("Retry-After") == "1" for r in results if r[0] == 503)


def test_sigterm_drains_in_flight_requests(trained, tmp_path):
    shutil.copytree(trained[0] / "model", tmp_path / "model")
    shutil.copytree(HERE / "user_handler", tmp_path / "model" / "code")
    proc, port = start_server(tmp_path)
    wait_ping(port, proc)
    url = f"http://127.0.0.1:{port}"
    result: dict[str, tuple] = {}
    t = threading.Thread(target=lambda: result.update(r=post(url, None, raw=b"slow drain")))
    t.start()
    time.sleep(0.5)  # the request is now being predicted (it takes 1.5 s)
    proc.send_signal(signal.SIGTERM)
    t.join(30)
    assert result["r"][0] == 200 and json.loads(result["r"][2])["echo"] == "slow drain"
    assert proc.wait(30) == 0
    assert proc.stdout is not None
    log = proc.stdout.read()
    assert "SIGTERM: draining" in log and "drained; exiting" in log
    with pytest.raises(OSError):
        http("GET", url + "/ping", timeout=2)
    # the 500 test's traceback went to the log of its own server; here: nothing leaked
    assert "Traceback" not in log


def read_chunked(s: socket.socket) -> tuple[dict[str, str], list[bytes]]:
    """Reads one chunked HTTP/1.1 response: (headers, the chunks as sent), leaving the connection open."""
    f = s.makefile("rb")
    status_line = f.readline()
    assert status_line.startswith(b"HTTP/1.1 200"), status_line
    headers = {}
    while (line := f.readline()) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    chunks: list[bytes] = []
    while True:
        size = int(f.readline().strip(), 16)
        data = f.read(size)
        assert f.read(2) == b"\r\n"
        if size == 0:
            return headers, chunks
        chunks.append(data)


def stream_request(port: int, payload: dict, accept: str) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: {accept}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("accept", ["application/jsonlines", "text/event-stream"])
def test_streamed_answer_arrives_token_by_token(builtin_server, accept):
    url, _ = builtin_server
    port = int(url.rsplit(":", 1)[1])
    params = {"max_new_tokens": 20, "min_new_tokens": 20, "temperature": 0, "seed": 1}
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(stream_request(port, {"inputs": "The assert statement", "parameters": params}, accept))
        headers, chunks = read_chunked(s)
        # the connection stays usable after a stream (keep-alive)
        s.sendall(stream_request(port, {"inputs": "x", "parameters": {"max_new_tokens": 2}}, accept))
        assert read_chunked(s)[1]
    assert headers["content-type"] == accept
    text = b"".join(chunks).decode()
    if accept == "text/event-stream":
        events = [e for e in text.split("\n\n") if e]
        assert all(e.startswith("data: ") for e in events)
        lines = [e[len("data: ") :] for e in events]
    else:
        assert text.endswith("\n")
        lines = text.splitlines()
    objs = [json.loads(line) for line in lines]
    tokens, final = objs[:-1], objs[-1]
    assert [t["token"]["index"] for t in tokens] == list(range(20))
    assert final["details"]["generated_tokens"] == 20 and final["details"]["finish_reason"] == "length"
    assert final["details"]["ttft_ms"] <= final["details"]["total_ms"]
    assert final["generated_text"].startswith("".join(t["token"]["text"] for t in tokens))
    # Each chunk is whole lines: the server sends tokens as they are produced, not one body at the end.
    assert len(chunks) > 1 and all(c.endswith(b"\n") for c in chunks)
    # the same request without streaming gives the same text (greedy)
    status, _, body = post(url, {"inputs": "The assert statement", "parameters": params})
    assert status == 200 and json.loads(body)["generated_text"] == final["generated_text"]


def test_a_list_cannot_be_streamed(builtin_server):
    url, _ = builtin_server
    status, _, body = post(url, {"inputs": ["a", "b"]}, {"Accept": "application/jsonlines"})
    assert status == 400 and "one prompt" in json.loads(body)["message"]


def test_saturated_server_refuses_at_once_and_ping_stays_fast(saturated_server):
    """One slot, a waiting room of one, eight clients streaming long answers: the extra requests
    get 503 + Retry-After with a JSON error at once, and /ping answers 200 quickly throughout."""
    port = saturated_server
    url = f"http://127.0.0.1:{port}"
    stop_at = time.monotonic() + 6
    outcomes: list[tuple[int, float, dict, bytes]] = []
    pings: list[tuple[int, float]] = []
    params = {"max_new_tokens": 120, "min_new_tokens": 120}

    def client():
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            status, headers, body = post(
                url, {"inputs": "go", "parameters": params}, {"Accept": "application/jsonlines"}
            )
            outcomes.append((status, time.monotonic() - t0, headers, body))

    def pinger():
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            pings.append((http("GET", url + "/ping", timeout=10)[0], time.monotonic() - t0))
            time.sleep(0.05)

    threads = [threading.Thread(target=client) for _ in range(8)] + [threading.Thread(target=pinger)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = {o[0] for o in outcomes}
    assert statuses == {200, 503}, statuses
    refused = [o for o in outcomes if o[0] == 503]
    assert all(o[2].get("Retry-After") == "1" and "queue is full" in json.loads(o[3])["message"] for o in refused)
    # a refusal never waits for the device: the slowest one is far quicker than one generation
    slowest_refusal = max(o[1] for o in refused)
    quickest_answer = min(o[1] for o in outcomes if o[0] == 200)
    assert slowest_refusal < max(1.0, quickest_answer)
    assert pings and all(status == 200 for status, _ in pings)
    assert max(dt for _, dt in pings) <= 2.0  # SageMaker's /ping deadline

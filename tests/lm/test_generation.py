"""Generation: batching, the persistent cache, and the OpenAI-compatible client against a fake server."""

import json
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmrl.lm import GenerationCache, LMServerError, OpenAICompatible, tiny_random_lm


def test_batched_generation_matches_one_by_one(tiny_lm):
    prompts = ["go to the red ball", "you see a wall 2 steps forward , and a blue key", "drop"]
    batched = tiny_lm.generate(prompts, max_new_tokens=6)
    alone = [tiny_lm.generate([p], max_new_tokens=6)[0] for p in prompts]
    assert batched == alone
    assert all(len(c) == 1 and isinstance(c[0], str) for c in batched)


def test_sampling_is_seeded_and_n_completions():
    lm = tiny_random_lm("llama")
    first = lm.generate(["go to the"], max_new_tokens=8, temperature=1.0, n=3, seed=7)
    assert first == lm.generate(["go to the"], max_new_tokens=8, temperature=1.0, n=3, seed=7)
    assert len(first[0]) == 3 and len(set(first[0])) > 1  # near-uniform random model: samples differ


def test_stop_strings_cut_the_completion():
    lm = tiny_random_lm("gpt2")
    (full,) = lm.generate(["go to the red ball"], max_new_tokens=6)
    word = full[0].split()[1]
    (cut,) = lm.generate(["go to the red ball"], max_new_tokens=6, stop=[word])
    assert cut[0] == full[0][: full[0].find(word)]


def test_second_identical_call_is_served_from_cache(tmp_path, monkeypatch):
    lm = tiny_random_lm("llama")
    cache = GenerationCache(tmp_path / "gen.sqlite")
    first = lm.generate(["go to the red ball", "pick up"], max_new_tokens=4, cache=cache)
    assert (cache.hits, cache.misses) == (0, 2)

    def no_model_call(*args, **kwargs):
        raise AssertionError("the model must not run on a cache hit")

    monkeypatch.setattr(lm.model, "generate", no_model_call)
    assert lm.generate(["go to the red ball", "pick up"], max_new_tokens=4, cache=cache) == first
    assert (cache.hits, cache.misses) == (2, 2)
    # Another process (a new connection) sees the same entries.
    assert GenerationCache(tmp_path / "gen.sqlite").get(lm.name, "pick up", _params(4)) == first[1]
    # Different sampling parameters are a different key: the model would run.
    with pytest.raises(AssertionError, match="must not run"):
        lm.generate(["pick up"], max_new_tokens=5, cache=cache)


def _params(max_new_tokens):
    from llmrl.lm.sampling import SamplingParams

    return SamplingParams(max_new_tokens=max_new_tokens)


def test_corrupt_cache_file_is_moved_aside_and_rebuilt(tmp_path):
    path = tmp_path / "gen.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match="unreadable"):
        cache = GenerationCache(path)
    lm = tiny_random_lm("gpt2")
    out = lm.generate(["go"], max_new_tokens=3, cache=cache)
    assert lm.generate(["go"], max_new_tokens=3, cache=cache) == out and cache.hits == 1
    assert list(tmp_path.glob("gen.sqlite.corrupt-*"))


def test_cache_failing_mid_run_degrades_without_crashing(tmp_path):
    cache = GenerationCache(tmp_path / "gen.sqlite")
    cache.store._conn.close()  # any sqlite error from now on
    lm = tiny_random_lm("gpt2")
    with pytest.warns(UserWarning, match="going on without it"):
        out = lm.generate(["go"], max_new_tokens=3, cache=cache)
    assert len(out) == 1 and cache.misses == 1
    with pytest.raises(sqlite3.ProgrammingError):
        len(cache.store)


def test_bad_generation_arguments():
    lm = tiny_random_lm("gpt2")
    for kwargs, message in [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": -1}, "temperature"),
        ({"n": 0}, "n must be"),
        ({"stop": "x"}, "stop must be a list"),
    ]:
        with pytest.raises(ValueError, match=message):
            lm.generate(["go"], **kwargs)
    with pytest.raises(TypeError, match="list of str"):
        lm.generate("go")


class FakeCompletions(BaseHTTPRequestHandler):
    """A fake /v1/completions: fails the first `fail_first` requests with 503, then echoes."""

    fail_first = 0
    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, self.headers.get("Authorization"), body))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        choices = [{"index": i, "text": f" echo {body['prompt']} {i} STOP tail"} for i in range(body["n"])]
        payload = json.dumps({"choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    FakeCompletions.fail_first, FakeCompletions.seen = 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_server_success_retry_and_cache(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMRL_TEST_KEY", "sk-secret-123")
    client = OpenAICompatible(fake_server + "/v1", "fake-model", api_key_env="LLMRL_TEST_KEY", backoff=0.01)
    assert "sk-secret" not in repr(client) and "sk-secret" not in str(vars(client))
    FakeCompletions.fail_first = 2  # two 503s, then success: retried with back-off
    cache = GenerationCache(tmp_path / "c.sqlite")
    out = client.generate(["hi"], max_new_tokens=5, n=2, stop=["STOP"], cache=cache)
    assert out == [[" echo hi 0 ", " echo hi 1 "]]
    path, auth, body = FakeCompletions.seen[-1]
    assert path == "/v1/completions" and auth == "Bearer sk-secret-123"
    assert body["max_tokens"] == 5 and body["stop"] == ["STOP"] and body["model"] == "fake-model"
    assert len(FakeCompletions.seen) == 3
    assert client.generate(["hi"], max_new_tokens=5, n=2, stop=["STOP"], cache=cache) == out
    assert len(FakeCompletions.seen) == 3 and cache.hits == 1


def test_server_errors_are_not_cached(fake_server, tmp_path):
    client = OpenAICompatible(fake_server, "fake-model", max_retries=1, backoff=0.01)
    FakeCompletions.fail_first = 5
    cache = GenerationCache(tmp_path / "c.sqlite")
    with pytest.raises(LMServerError, match="after 2 attempts.*HTTP 503"):
        client.generate(["hi"], cache=cache)
    assert len(cache.store) == 0
    with pytest.raises(LMServerError, match="LLMRL_UNSET_KEY"):
        OpenAICompatible(fake_server, "m", api_key_env="LLMRL_UNSET_KEY").generate(["hi"])


def test_unreachable_server_fails_within_its_timeout():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAICompatible(f"http://127.0.0.1:{port}", "m", timeout=1.0, max_retries=2, backoff=0.05)
    start = time.monotonic()
    with pytest.raises(LMServerError, match="after 3 attempts.*Is the server running"):
        client.generate(["hi"])
    assert time.monotonic() - start < 3 * 1.0 + 0.2 + 5  # attempts x timeout + back-off, never a hang

"""ELLM with a goal server: the suggestions for all envs of a step go out as concurrent requests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llmrl.intrinsic.base import GoalContext
from llmrl.train.ellm_components import build_suggester
from llmrl.train.ellm_config import SuggesterConfig


class _SlowCompletions(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/completions that answers a bullet list after 0.3 s, counting overlap."""

    lock = threading.Lock()
    in_flight = max_in_flight = requests = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        cls = type(self)
        self.rfile.read(int(self.headers["Content-Length"]))
        with cls.lock:
            cls.requests += 1
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        time.sleep(0.3)  # long enough that requests sent together overlap
        with cls.lock:
            cls.in_flight -= 1
        body = json.dumps({"choices": [{"index": 0, "text": "- chop tree\n- drink water"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_one_step_of_six_envs_sends_six_overlapping_requests(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("LLMRL_TEST_KEY", "not-a-secret")
        cfg = SuggesterConfig(form="open-ended", base_url=f"http://127.0.0.1:{server.server_port}",
                              server_model="served-model", api_key_env="LLMRL_TEST_KEY", concurrency=8,
                              cache_path=str(tmp_path / "goals.sqlite"))
        suggester = build_suggester(cfg)
        contexts = [GoalContext(caption=f"You see tree number {i}.") for i in range(6)]
        goals = suggester.suggest(contexts)
    finally:
        server.shutdown()
        server.server_close()
    assert goals == [["chop tree", "drink water"]] * 6
    assert _SlowCompletions.requests == 6
    assert _SlowCompletions.max_in_flight == 6  # one concurrent batch, not four round trips in a row

"""Generation through any OpenAI-compatible server (vLLM, SGLang, Ollama, ...) with the stdlib only."""

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from llmrl.lm.generation_cache import TextGenerator
from llmrl.lm.sampling import SamplingParams, cut_at_stop

# Worth retrying: the server is busy or restarting. Other HTTP errors are the request's fault.
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class LMServerError(RuntimeError):
    """The server could not be reached or refused the request."""


class OpenAICompatible(TextGenerator):
    """`generate` over the `/v1/completions` endpoint of an OpenAI-compatible server.

    `base_url`: e.g. "http://localhost:8000" or "http://localhost:8000/v1".
    `api_key_env`: name of the environment variable holding the API key; the key is
    read at request time and never stored, logged or shown. Each attempt waits at
    most `timeout` seconds; failed attempts are retried `max_retries` times after
    `backoff * 2**attempt` seconds, so a dead server fails in bounded time.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 4,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if timeout <= 0 or max_retries < 0 or backoff < 0 or concurrency < 1:
            raise ValueError("need timeout > 0, max_retries >= 0, backoff >= 0 and concurrency >= 1")
        root = base_url.rstrip("/")
        self.url = root + ("/completions" if root.endswith("/v1") else "/v1/completions")
        self.name = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency

    def __repr__(self) -> str:
        return f"OpenAICompatible(url={self.url!r}, model={self.name!r}, api_key_env={self.api_key_env!r})"

    # `generate` (TextGenerator): checks, the cache, then this; requests run `concurrency` at a time.
    def _generate_uncached(self, prompts: list[str], params: SamplingParams) -> list[list[str]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda p: self._complete(p, params), prompts))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env is not None:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise LMServerError(f"environment variable {self.api_key_env} (the API key) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _complete(self, prompt: str, params: SamplingParams) -> list[str]:
        body = {
            "model": self.name,
            "prompt": prompt,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "n": params.n,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None and not params.greedy:
            body["seed"] = params.seed
        reply = self._post(body)
        try:
            choices = sorted(reply["choices"], key=lambda c: c.get("index", 0))
            texts = [cut_at_stop(c["text"], params.stop) for c in choices]
        except (KeyError, TypeError) as error:
            raise LMServerError(f"{self.url} answered without choices[].text: {str(reply)[:200]}") from error
        if len(texts) != params.n:
            raise LMServerError(f"{self.url} returned {len(texts)} completions, {params.n} were asked for")
        return texts

    def _post(self, body: dict) -> dict:
        """POST with retries and exponential back-off; raises LMServerError once attempts run out."""
        data = json.dumps(body).encode()
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                detail = error.read()[:300].decode(errors="replace")
                if error.code not in RETRY_STATUS:
                    raise LMServerError(f"{self.url} refused the request: HTTP {error.code} {detail}") from error
                last_error = f"HTTP {error.code} {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        raise LMServerError(
            f"could not get a completion from {self.url} after {self.max_retries + 1} attempts "
            f"(timeout {self.timeout} s each): {last_error}. Is the server running and the URL right?"
        )

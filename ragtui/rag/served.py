"""A model behind an OpenAI-compatible server (llama.cpp's server, llama-cpp-python's
`llama_cpp.server`, vLLM, Ollama), with the interface of `LocalModel`: render, count_tokens,
and streamed `generate` returning a `Generation`.

The prompt builder renders chat messages to text and counts its tokens; a server takes the
messages themselves. `render` therefore keeps, for each text it rendered, the messages it
came from, and `generate` sends those to `/chat/completions`. The rendering is ChatML, close
to most chat templates, used only for counting; the server applies the model's own template.

The API key goes into the Authorization header and nowhere else: not in errors, `info`,
`repr`, logs, or the command line (it comes from the environment or a file).
"""
from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx2

from ..errors import RagtuiError
from .llm import Generation, LocalModel

DEFAULT_CONTEXT = 2048  # when neither the server nor the n_ctx setting says (llama_cpp.server's default)
CONNECT_TIMEOUT_S = 5.0
STOP_POLL_S = 0.05  # how soon Esc / Ctrl-C closes a stream that is waiting for its first token
RENDERED_KEPT = 64  # prompts rendered by build_prompt that generate may be handed back
ESTIMATE_BYTES_PER_TOKEN = 3  # tokens are ~4 bytes of English: counting 3 leaves a margin


class ServedModelError(RagtuiError):
    """The model server cannot be used; the message says which server and what to do."""


def shown_url(url: str) -> str:
    """The URL without any user:password@ part, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def api_key(settings) -> str | None:
    """RAGTUI_LLM_API_KEY, else the first line of the file named by llm_api_key_file."""
    if settings.llm_api_key:
        return settings.llm_api_key.strip()
    if settings.llm_api_key_file:
        path = Path(settings.llm_api_key_file)
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a text file"
            raise ServedModelError(f"llm_api_key_file {path}: {reason}") from None
        if not key:
            raise ServedModelError(f"llm_api_key_file {path} is empty")
        return key
    return None


@dataclass(frozen=True)
class ModelChoice:
    """The model the settings ask for, checked but not yet loaded."""

    name: str
    load: Callable[[], LocalModel | ServedModel]
    server: str = ""  # the server's address when the model is served: nothing loads here


def choose_model(settings) -> ModelChoice:
    """A served model when llm_url is set, else a GGUF file. Checked now (the file's header,
    or the server, the key and the model name) so a bad choice fails before indexing."""
    if settings.llm_url:
        served = ServedModel.from_settings(settings)
        served.load()
        return ModelChoice(served.name, lambda: served, server=served.shown_url)
    from .llm import shared_model
    from .models import check_gguf, resolve_model

    model_file = resolve_model(settings.model, settings.data_dir)
    check_gguf(model_file.path)
    return ModelChoice(
        model_file.name,
        lambda: shared_model(model_file, settings.threads, settings.n_ctx, settings.n_gpu_layers),
    )


# Token-counting endpoints, tried in turn at load: (path from the server root, request body);
# each answers {"tokens": [...]}. Ollama and hosted APIs have none: we estimate.
TOKENIZERS = (
    ("/extras/tokenize", lambda text, model: {"input": text, "model": model}),  # llama_cpp.server
    ("/tokenize", lambda text, model: {"content": text, "add_special": True}),  # llama.cpp server
    ("/tokenize", lambda text, model: {"model": model, "prompt": text}),  # vLLM
)


class ServedModel:
    """One model on an OpenAI-compatible server. Thread-safe: the server queues requests, and
    the caches of rendered prompts and token counts have a lock."""

    template_source = "the server's"

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        n_ctx: int | None = None,
        temperature: float = 0.0,
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServedModelError(f"llm_url {shown_url(url)!r} is not an http:// or https:// URL "
                                   "(for example http://localhost:8080/v1)")
        self.url = url.rstrip("/")
        self.shown_url = shown_url(self.url)
        # The tokenize and props endpoints live beside /v1, not under it.
        self.root = self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url
        self.requested = model
        self.requested_ctx = n_ctx
        self.temperature = temperature
        self.timeout = timeout
        self.name = model or ""
        self.n_ctx = 0
        self.context_source = ""
        self.available: list[str] = []
        self._secret = api_key
        self._client = httpx2.Client(
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=httpx2.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
        )
        self._tokenizer: tuple[str, Callable[[str, str], dict]] | None = None
        self._rendered: OrderedDict[str, list[dict]] = OrderedDict()
        self._counted: OrderedDict[str, int] = OrderedDict()
        self._caches = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> ServedModel:
        return cls(settings.llm_url, model=settings.llm_model, api_key=api_key(settings),
                   timeout=settings.llm_timeout, n_ctx=settings.n_ctx)

    def __repr__(self) -> str:
        return f"ServedModel({self.shown_url!r}, model={self.name!r})"

    # -- talking to the server ------------------------------------------------------------

    def _fail(self, what: str, exc: Exception) -> ServedModelError:
        """One line that names the server and what to do; never the key."""
        where = f"the model server at {self.shown_url}"
        if isinstance(exc, httpx2.ConnectTimeout):
            text = f"{where} did not accept a connection within {CONNECT_TIMEOUT_S:.0f} s ({what}): check --llm-url"
        elif isinstance(exc, httpx2.ConnectError):
            text = f"cannot connect to {where} ({what}): is it running? check --llm-url"
        elif isinstance(exc, httpx2.TimeoutException):
            text = (f"{where} sent nothing for {self.timeout:g} s ({what}); it may be overloaded: "
                    "try again, or raise the llm_timeout setting")
        elif isinstance(exc, httpx2.HTTPStatusError):
            text = self._status_message(where, what, exc.response)
        elif isinstance(exc, httpx2.HTTPError):
            text = f"{where} broke off the connection ({what}): {exc}"
        else:
            text = f"{where} sent an answer that is not OpenAI-compatible ({what}): {exc}"
        text = " ".join(text.split())
        if self._secret and len(self._secret) >= 8:  # in case a server quotes the key back
            text = text.replace(self._secret, "***")
        return ServedModelError(text)

    def _status_message(self, where: str, what: str, response: httpx2.Response) -> str:
        status = response.status_code
        if status == 401:
            return (f"{where} refused the request: it needs a valid API key (set RAGTUI_LLM_API_KEY "
                    "or the llm_api_key_file setting)")
        if status == 403:
            return f"{where} refused the request ({status}): the API key lacks permission"
        if status == 404 and what == "listing its models":
            return f"{where} has no /models endpoint: an OpenAI-compatible URL usually ends in /v1"
        try:
            detail = response.json().get("error", response.json().get("detail", ""))
            if isinstance(detail, dict):
                detail = detail.get("message", "")
        except (ValueError, AttributeError):
            detail = response.text
        detail = " ".join(str(detail).split())[:300]
        return f"{where} answered {status} ({what}){': ' + detail if detail else ''}"

    def _post_json(self, url: str, body: dict, what: str) -> Any:
        try:
            response = self._client.post(url, json=body)
            response.raise_for_status()
            return response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise self._fail(what, exc) from None

    def _probe(self, method: str, url: str, body: dict | None = None) -> Any:
        """Best effort: the JSON answer, or None when the server has no such endpoint."""
        try:
            response = self._client.request(method, url, json=body)
            return response.json() if response.is_success else None
        except (httpx2.HTTPError, ValueError):
            return None

    # -- loading ----------------------------------------------------------------------------

    def list_models(self) -> list[dict]:
        """The server's /models entries (each has at least an "id")."""
        try:
            response = self._client.get(f"{self.url}/models")
            response.raise_for_status()
            entries = response.json()["data"]
            return [e for e in entries if isinstance(e, dict) and "id" in e]
        except (httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise self._fail("listing its models", exc) from None

    def load(self) -> None:
        """Check the server, the key and the model name; learn the context size and how to count tokens."""
        entries = self.list_models()
        self.available = [str(e["id"]) for e in entries]
        if not entries:
            raise ServedModelError(f"the model server at {self.shown_url} serves no model")
        if self.requested is None and len(entries) > 1:
            raise ServedModelError(
                f"the model server at {self.shown_url} serves several models: choose one with "
                f"--llm-model or the llm_model setting ({', '.join(self.available)})")
        if self.requested is not None and self.requested not in self.available:
            raise ServedModelError(
                f"model {self.requested!r} is not served by {self.shown_url}; it serves: "
                f"{', '.join(self.available)} (set --llm-model or the llm_model setting)")
        entry = next(e for e in entries if self.requested in (None, e["id"]))
        self.name = str(entry["id"])
        self.n_ctx, self.context_source = self._context(entry)
        self._tokenizer = self._find_tokenizer()

    def _context(self, entry: dict) -> tuple[int, str]:
        served = _count(entry.get("max_model_len"))  # vLLM
        props = self._probe("GET", f"{self.root}/props")  # llama.cpp server: the context it runs with
        if isinstance(props, dict) and isinstance(props.get("default_generation_settings"), dict):
            served = _count(props["default_generation_settings"].get("n_ctx")) or served
        if served and self.requested_ctx:
            return min(served, self.requested_ctx), "the server's, within the n_ctx setting"
        if served:
            return served, "from the server"
        if self.requested_ctx:
            return self.requested_ctx, "the n_ctx setting (the server does not say)"
        return DEFAULT_CONTEXT, "assumed: the server does not say; set n_ctx to the server's"

    def _find_tokenizer(self):
        for path, body in TOKENIZERS:
            answer = self._probe("POST", f"{self.root}{path}", body("hello world", self.name))
            if isinstance(answer, dict) and isinstance(answer.get("tokens"), list) and answer["tokens"]:
                return path, body
        return None

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.shown_url, "n_ctx": self.n_ctx, "threads": "server",
                "chat_template": self.template_source, "context": self.context_source,
                "token_counting": "by the server" if self._tokenizer else "estimated"}

    def close(self) -> None:
        self._client.close()

    # -- the LocalModel interface -------------------------------------------------------------

    def render(self, messages: list[dict]) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        text += "<|im_start|>assistant\n"
        with self._caches:
            _remember(self._rendered, text, [dict(m) for m in messages])
        return text

    def messages_for(self, prompt: str) -> list[dict]:
        """The messages `render` made this prompt from; one user message for a prompt it did not render."""
        with self._caches:
            messages = self._rendered.get(prompt)
        return messages or [{"role": "user", "content": prompt}]

    def count_tokens(self, text: str) -> int:
        with self._caches:
            if text in self._counted:
                return self._counted[text]
        if self._tokenizer is None:
            count = estimate_tokens(text)
        else:
            path, body = self._tokenizer
            count = len(self._post_json(f"{self.root}{path}", body(text, self.name), "counting tokens")["tokens"])
        with self._caches:
            _remember(self._counted, text, count)
        return count

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int,
        on_token: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Generation:
        """Stream a chat completion of the messages the prompt was rendered from.
        `temperature` (default: the model's) and `seed` as for a local model."""
        messages = self.messages_for(prompt)
        prompt_tokens = self.count_tokens(prompt)
        body: dict[str, Any] = {
            "model": self.name, "messages": messages, "stream": True,
            "max_tokens": max(1, min(max_tokens, self.n_ctx - prompt_tokens)),
            "temperature": self.temperature if temperature is None else temperature,
            "stream_options": {"include_usage": True},
        }
        if seed is not None:
            body["seed"] = seed
        stream = _Stream(on_token, should_stop)
        try:
            with self._client.sse(f"{self.url}/chat/completions", method="POST", json=body) as events:
                if not events.response.is_success:
                    events.response.read()
                    events.response.raise_for_status()
                with _closed_when_stopped(events.response, should_stop):
                    stream.read(events)
        except (httpx2.HTTPError, ValueError) as exc:
            if not (should_stop and should_stop() and isinstance(exc, httpx2.TransportError)):
                raise self._fail("generating", exc) from None
            stream.stopped = True  # we shut the socket to cancel: not a failure
        return stream.result(prompt_tokens)


class _Stream:
    """Reads an SSE stream of chat completion chunks, timing the tokens as they come."""

    def __init__(self, on_token, should_stop):
        self.on_token, self.should_stop = on_token, should_stop
        self.started = time.perf_counter()
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.pieces: list[str] = []
        self.chunks = 0
        self.usage: dict = {}
        self.timings: dict = {}
        self.stopped = False

    def read(self, events: httpx2.EventSource) -> None:
        for sse in events:
            if sse.data == "[DONE]":
                return
            event = json.loads(sse.data)
            if not isinstance(event, dict):
                raise ValueError(f"a stream event is not a JSON object: {sse.data[:80]}")
            if event.get("error"):
                error = event["error"]
                raise ValueError(error.get("message", error) if isinstance(error, dict) else error)
            self.usage = _mapping(event.get("usage")) or self.usage
            self.timings = _mapping(event.get("timings")) or self.timings  # llama.cpp server
            choices = event.get("choices")
            for choice in choices if isinstance(choices, list) else ():
                piece = _mapping(_mapping(choice).get("delta")).get("content")
                if piece and isinstance(piece, str):
                    self._token(piece)
            if self.should_stop and self.should_stop():
                self.stopped = True
                return

    def _token(self, piece: str) -> None:
        now = time.perf_counter()
        self.first_at = self.first_at or now
        self.last_at = now
        self.chunks += 1
        self.pieces.append(piece)
        if self.on_token:
            self.on_token(piece)

    def result(self, prompt_tokens: int) -> Generation:
        finished = time.perf_counter()
        first_at = self.first_at or finished
        # Servers that send usage count tokens exactly; the others send one token per chunk.
        completion = _count(self.usage.get("completion_tokens")) or self.chunks
        decode_seconds = (self.last_at or finished) - first_at
        prompt_tokens = _count(self.usage.get("prompt_tokens")) or prompt_tokens
        evaluated = _count(self.timings.get("prompt_n"))  # 0 when the server had the whole prompt cached
        return Generation(
            text="".join(self.pieces),
            prompt_tokens=prompt_tokens,
            evaluated_prompt_tokens=prompt_tokens if evaluated is None else evaluated,
            completion_tokens=completion,
            ttft_ms=(first_at - self.started) * 1000,
            tokens_per_s=(completion - 1) / decode_seconds if completion > 1 and decode_seconds > 0 else 0.0,
            stopped=self.stopped,
        )


@contextlib.contextmanager
def _closed_when_stopped(response: httpx2.Response, should_stop: Callable[[], bool] | None):
    """Esc / Ctrl-C must not wait for the next token (a long prompt can take many seconds to
    read): shutting the socket down wakes the blocked read, and the server sees us leave."""
    if should_stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_POLL_S):
            if should_stop():
                network = response.extensions.get("network_stream")
                sock = network.get_extra_info("socket") if network else None
                with contextlib.suppress(OSError):
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)
                return

    watcher = threading.Thread(target=watch, name="ragtui-stop-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _mapping(value) -> dict:
    """A JSON object from a server, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _count(value) -> int | None:
    """A count (of tokens) from a server's JSON, if it is one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def estimate_tokens(text: str) -> int:
    """For servers that cannot count: on the safe side, so the prompt still fits."""
    return len(text.encode("utf-8")) // ESTIMATE_BYTES_PER_TOKEN + 1


def _remember(cache: OrderedDict, key, value) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > RENDERED_KEPT:
        cache.popitem(last=False)

"""A local GGUF model through llama-cpp-python: its own chat template, a context sized to
the model and the machine, streamed tokens, and the KV cache kept between calls."""
from __future__ import annotations

import codecs
import contextlib
import functools
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, TypedDict, cast

from .models import CorruptModel, ModelFile, check_gguf

if TYPE_CHECKING:  # llama_cpp is imported by load(), not with this module
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_types import ChatCompletionRequestMessage

# Used only when a GGUF carries no template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class Sampling(TypedDict):  # keyword arguments of Llama.generate
    top_k: int
    top_p: float
    min_p: float
    repeat_penalty: float


# llama.cpp's usual sampler chain; a mild repeat penalty keeps small models out of loops.
SAMPLING = Sampling(top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)
KV_MEMORY_SHARE = 0.25  # of available RAM, at most, for the KV cache
MIN_CONTEXT = 512


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    evaluated_prompt_tokens: int  # those not already in the KV cache
    completion_tokens: int
    ttft_ms: float
    tokens_per_s: float
    stopped: bool


def available_memory_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def kv_bytes_per_token(metadata: dict) -> int:
    """f16 K and V for every layer; grouped-query attention shares heads."""
    arch = metadata.get("general.architecture", "llama")
    layers = int(metadata.get(f"{arch}.block_count", 32))
    embedding = int(metadata.get(f"{arch}.embedding_length", 4096))
    heads = int(metadata.get(f"{arch}.attention.head_count", 32)) or 1
    kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads)) or heads
    return 2 * layers * (embedding // heads) * kv_heads * 2


def choose_context(trained: int, per_token: int, requested: int | None, memory: int) -> int:
    """The model's trained context, unless asked for less or memory allows less."""
    affordable = int(memory * KV_MEMORY_SHARE) // max(per_token, 1)
    n_ctx = min(trained or 4096, requested or 1 << 30, affordable)
    return max(MIN_CONTEXT, n_ctx // 256 * 256)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C while llama.cpp loads a model mostly lands in its Python log callback, where
    ctypes prints the KeyboardInterrupt and drops it, and the load goes on: hold the signal
    until llama.cpp returns, then act on it. (Only the main thread receives signals.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple] = []
    previous = signal.signal(signal.SIGINT, lambda *received: caught.append(received))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(*caught[0])
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


def read_metadata(path) -> dict[str, str]:
    """GGUF key/values without loading weights or creating a context (vocabulary only)."""
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    probe = LlamaModel(path_model=str(path), params=params, verbose=False)
    try:
        return dict(probe.metadata())
    finally:
        probe.close()


class LocalModel:
    """One llama.cpp context; calls are serialised because a context is single-threaded."""

    def __init__(self, model: ModelFile, *, threads: int, n_ctx: int | None = None, temperature: float = 0.0,
                 n_gpu_layers: int = 0):
        self.model = model
        self.threads = threads
        self.requested_ctx = n_ctx
        self.n_gpu_layers = n_gpu_layers  # offloaded to a GPU when llama.cpp was built with one
        self.temperature = temperature
        self.n_ctx = 0
        self.template_source = ""
        self._llm: Llama | None = None  # both set by load()
        self._formatter: Jinja2ChatFormatter | None = None
        self._lock = threading.Lock()
        self._last_tokens: tuple[str, list[int]] = ("", [])
        self._evaluated = 0

    def load(self) -> None:
        check_gguf(self.model.path)
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            with interrupts_held():
                metadata = read_metadata(self.model.path)
                arch = metadata.get("general.architecture", "llama")
                trained = int(metadata.get(f"{arch}.context_length", 0))
                self.n_ctx = choose_context(trained, kv_bytes_per_token(metadata), self.requested_ctx,
                                            available_memory_bytes())
                llm = Llama(
                    str(self.model.path), n_ctx=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads, n_gpu_layers=self.n_gpu_layers, verbose=False,
                )
        except ValueError as exc:  # llama.cpp's only word for "could not load"
            raise CorruptModel(
                f"model file {self.model.path} could not be loaded by llama.cpp ({exc}); it may be "
                "truncated or for a newer llama.cpp: download it again or pass --model PATH"
            ) from None
        template = metadata.get("tokenizer.chat_template")
        self.template_source = "the model's own (GGUF metadata)" if template else "ChatML (the model has none)"
        eos, bos = llm.token_eos(), llm.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template or CHATML_TEMPLATE,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        self._count_evaluated_tokens(llm)
        self._llm = llm

    def _count_evaluated_tokens(self, llm) -> None:
        """Count what llama.cpp actually decodes, to show the KV cache at work: on a
        session's second turn only the new tokens should be evaluated."""
        decode = llm.eval

        def counting_eval(tokens):
            self._evaluated += len(tokens)
            return decode(tokens)

        llm.eval = counting_eval

    @property
    def info(self) -> dict:
        return {"name": self.model.name, "path": str(self.model.path), "n_ctx": self.n_ctx,
                "threads": self.threads, "chat_template": self.template_source, "gpu_layers": self.n_gpu_layers}

    def _loaded(self) -> tuple[Llama, Jinja2ChatFormatter]:
        if self._llm is None or self._formatter is None:
            raise RuntimeError(f"{self.model.name} is not loaded: call load() first")
        return self._llm, self._formatter

    def render(self, messages: list[dict]) -> str:
        _, formatter = self._loaded()
        # Our {"role", "content"} dicts are what llama.cpp's message TypedDicts describe.
        return formatter(messages=cast("list[ChatCompletionRequestMessage]", messages)).prompt

    def tokenize(self, text: str) -> list[int]:
        cached_text, cached = self._last_tokens
        if text == cached_text:  # build_prompt counts the prompt it then generates from
            return cached
        llm, _ = self._loaded()
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        self._last_tokens = (text, tokens)
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

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
        """Stream a completion; the KV cache keeps whatever prefix this prompt shares with
        the previous one, so only the new tokens are evaluated. `temperature` (default: the
        model's) and `seed` make a sampled answer: a regenerated one."""
        import llama_cpp

        with self._lock:
            llm, _ = self._loaded()
            if seed is not None:
                llm.set_seed(seed)
            tokens = self.tokenize(prompt)
            max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            self._evaluated = 0
            is_end_of_generation, vocab = llama_cpp.llama_vocab_is_eog, llm._model.vocab
            started = time.perf_counter()
            first_token_at = last_token_at = None
            evaluated = completion = 0
            pieces: list[str] = []
            stopped = False
            stream = llm.generate(tokens, temp=self.temperature if temperature is None else temperature, **SAMPLING)
            try:
                for token in stream:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                        evaluated = self._evaluated
                    if is_end_of_generation(vocab, token):
                        break
                    completion += 1
                    last_token_at = time.perf_counter()
                    # A multi-byte character may span tokens: the decoder holds the partial bytes.
                    piece = decoder.decode(llm.detokenize([token]))
                    if piece:
                        pieces.append(piece)
                        if on_token:
                            on_token(piece)
                    if completion >= max_tokens:
                        break
                    if should_stop and should_stop():
                        stopped = True
                        break
            finally:
                stream.close()
            tail = decoder.decode(b"", final=True)
            if tail:
                pieces.append(tail)
                if on_token:
                    on_token(tail)
        finished = time.perf_counter()
        first_token_at = first_token_at or finished
        decode_seconds = (last_token_at or finished) - first_token_at
        return Generation(
            text="".join(pieces),
            prompt_tokens=len(tokens),
            evaluated_prompt_tokens=evaluated,
            completion_tokens=completion,
            ttft_ms=(first_token_at - started) * 1000,
            tokens_per_s=(completion - 1) / decode_seconds if completion > 1 and decode_seconds > 0 else 0.0,
            stopped=stopped,
        )


@functools.lru_cache(maxsize=4)
def shared_model(model: ModelFile, threads: int, n_ctx: int | None = None, n_gpu_layers: int = 0) -> LocalModel:
    """One loaded model per file and shape in a process; its KV cache then serves every session."""
    local = LocalModel(model, threads=threads, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers)
    local.load()
    return local

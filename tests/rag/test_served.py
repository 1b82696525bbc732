"""--llm-url: ragtui against a real llama_cpp.server (started once per test session on the
default GGUF, with an API key), and against a TCP server that stalls, for cancellation and
timeouts."""
from __future__ import annotations

import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ragtui import cli, paths
from ragtui.config import ConfigError, load_settings
from ragtui.rag.chat import CORPUS_DIR, ChatService
from ragtui.rag.served import ServedModel, ServedModelError, choose_model, estimate_tokens
from ragtui.sessions import open_store
from tests.redis_server import free_port

from .conftest import QUESTION, TEST_CONTEXT, THREADS
from .llama_server import ALIAS, LlamaServer

API_KEY = "sk-ragtui-test-" + secrets.token_hex(12)  # random: finding it in output is never chance
MAX_TOKENS = 24


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    # One thread: llama.cpp's threads spin while they wait for each other, which costs most on a
    # machine whose cores the test process (and anything else) also wants.
    server = LlamaServer(tmp_path_factory.mktemp("llama-server"), api_key=API_KEY, n_ctx=TEST_CONTEXT,
                         threads=1).start()
    yield server
    server.stop()


@pytest.fixture
def served_env(monkeypatch, llama_server, library):
    """The CLI pointed at the server, with the key in the environment, over the small library."""
    monkeypatch.setenv("RAGTUI_LLM_URL", llama_server.url)
    monkeypatch.setenv("RAGTUI_LLM_API_KEY", API_KEY)
    monkeypatch.setenv("RAGTUI_DATA_DIR", str(library[0]))
    monkeypatch.setenv("RAGTUI_MAX_TOKENS", str(MAX_TOKENS))
    monkeypatch.setenv("RAGTUI_THREADS", str(THREADS))
    return llama_server


@pytest.fixture
def service(library, llama_server, embedder):
    settings = load_settings({"data_dir": str(library[0]), "store": "memory", "threads": THREADS,
                              "max_tokens": MAX_TOKENS, "llm_url": llama_server.url},
                             env={"RAGTUI_LLM_API_KEY": API_KEY})
    store = open_store("memory")
    chat = ChatService(store, settings, corpus_dir=None)
    chat.load()
    yield chat
    store.close()


@pytest.fixture
def served(llama_server):
    model = ServedModel(llama_server.url, api_key=API_KEY)
    model.load()
    yield model
    model.close()


def story_prompt(model: ServedModel) -> str:
    return model.render([{"role": "user", "content": "Write a long story about a cat and a boat."}])


def test_an_answer_streams_from_the_server_grounded_in_the_index(service, library):
    _, docs = library
    assert service.model_info["name"] == ALIAS and service.model_info["n_ctx"] == TEST_CONTEXT
    session_id = service.store.create_session("tester")
    pieces = []
    answer = service.ask(session_id, QUESTION, on_token=pieces.append)

    assert len(pieces) > 3 and "".join(pieces) == answer.text
    assert "7341" in answer.text
    assert answer.sources[0].source == str(docs / "quokka.md")
    assert answer.completion_tokens > 3 and answer.tokens_per_s > 0
    assert 50 < answer.prompt_tokens <= TEST_CONTEXT - MAX_TOKENS  # budgeted with the server's counts
    user, assistant = service.store.get_conversation_history(session_id)
    assert (user.content, assistant.content) == (QUESTION, answer.text)
    assert assistant.sources[0]["source"] == str(docs / "quokka.md")

    follow_up = service.ask(session_id, "How do I change it?")
    assert follow_up.history_turns == 1 and follow_up.prompt_tokens > answer.prompt_tokens
    assert any("QUOKKA_PORT" in c.text for c in follow_up.sources)


def test_stopping_mid_stream_keeps_what_came_and_the_server_serves_on(served):
    pieces = []
    stopped = served.generate(story_prompt(served), max_tokens=64, on_token=pieces.append,
                              should_stop=lambda: len(pieces) >= 3)
    assert stopped.stopped and stopped.completion_tokens == 3 and stopped.text == "".join(pieces)

    after = served.generate(story_prompt(served), max_tokens=8)
    assert not after.stopped and after.completion_tokens == 8
    assert after.text.startswith(stopped.text)  # greedy: the same start, from a fresh request


def test_the_server_counts_tokens_as_the_model_does(served, local_model):
    text = story_prompt(served) + (CORPUS_DIR / "getting-started.md").read_text()
    assert served.info["token_counting"] == "by the server"
    assert served.count_tokens(text) == local_model.count_tokens(text)


def test_the_estimate_for_servers_that_cannot_count_stays_on_the_safe_side(local_model):
    for guide in sorted(CORPUS_DIR.glob("*.md")):
        text = guide.read_text()
        assert estimate_tokens(text) >= local_model.count_tokens(text), guide.name


def test_context_size_falls_back_to_the_setting_when_the_server_does_not_say(llama_server):
    model = ServedModel(llama_server.url, api_key=API_KEY, n_ctx=1024)
    model.load()
    assert model.n_ctx == 1024 and "n_ctx setting" in model.info["context"]
    model.close()


# -- failures: one line each, naming the server and what to do ---------------------------------


def one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ragtui: "), captured.err
    return lines[0]


def test_a_server_that_is_down_fails_fast_in_one_line(capsys, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/v1"
    error = one_line_error(capsys, ["--store", "memory", "--llm-url", url, "ask", "hello"])
    assert f"cannot connect to the model server at {url}" in error
    assert not paths.index_dir().exists()  # failed before indexing the user guide

    assert cli.main(["--store", "memory", "--llm-url", url, "doctor"]) == 1
    assert "✗ model server" in capsys.readouterr().out


def test_a_wrong_model_name_lists_the_served_ones(capsys, served_env):
    error = one_line_error(capsys, ["--store", "memory", "ask", "--llm-model", "gpt-9", QUESTION])
    assert "'gpt-9' is not served by" in error and ALIAS in error


def test_a_wrong_or_missing_key_says_where_the_key_goes(capsys, served_env, monkeypatch):
    monkeypatch.setenv("RAGTUI_LLM_API_KEY", "sk-wrong-" + secrets.token_hex(8))
    error = one_line_error(capsys, ["--store", "memory", "ask", QUESTION])
    assert "needs a valid API key" in error and "RAGTUI_LLM_API_KEY" in error and "sk-wrong" not in error

    monkeypatch.delenv("RAGTUI_LLM_API_KEY")
    assert "needs a valid API key" in one_line_error(capsys, ["--store", "memory", "models"])


def test_models_lists_the_servers_models(capsys, served_env):
    assert cli.main(["models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": ALIAS, "server": served_env.url, "selected": True}]
    assert cli.main(["models"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == ["*", ALIAS] and served_env.url in err


def test_ask_records_the_servers_model_name_in_the_session(capsys, served_env, redis_url):
    assert cli.main(["--store", redis_url, "--user", "alice", "ask", "--json", QUESTION]) == 0
    out, err = capsys.readouterr()
    sid = json.loads(out)["session_id"]
    assert "loading the language model" not in err and f"ready: {ALIAS} on http://" in err  # QA Q46: nothing loads here
    store = open_store(redis_url, user="alice")
    try:
        assert store.get_session(sid).model == ALIAS  # the name /v1/models gave, not a file's
    finally:
        store.close()


def test_the_api_key_is_never_shown(capsys, served_env, tmp_path, monkeypatch):
    outputs = []
    for argv in (["doctor"], ["doctor", "--json"], ["models"], ["stats"],
                 ["ask", "--json", QUESTION], ["ask", QUESTION], ["ask", "--llm-model", "gpt-9", QUESTION]):
        cli.main(["--store", "memory", *argv])
        outputs.append(capsys.readouterr())
    assert all(API_KEY not in output.out + output.err for output in outputs)
    assert "API key from RAGTUI_LLM_API_KEY" in outputs[0].out
    assert json.loads(outputs[1].out)["settings"]["llm_api_key"] == "(set)"
    assert json.loads(outputs[4].out)["usage"]["completion_tokens"] > 0  # the key did reach the server
    assert "--llm-api-key" not in cli.build_parser().format_help()  # no flag: it would show in `ps`
    assert API_KEY not in repr(load_settings())

    key_file = tmp_path / "llm-key"
    key_file.write_text(API_KEY + "\n")
    monkeypatch.delenv("RAGTUI_LLM_API_KEY")
    monkeypatch.setenv("RAGTUI_LLM_API_KEY_FILE", str(key_file))
    assert cli.main(["--store", "memory", "doctor"]) == 1  # the memory store is flagged; the server is fine
    out = capsys.readouterr().out
    assert f"✓ model server   {ALIAS}" in out and f"API key from {key_file}" in out and API_KEY not in out

    (tmp_path / "config.toml").write_text(f'llm_api_key = "{API_KEY}"\n')
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "RAGTUI_LLM_API_KEY" in str(error.value) and API_KEY not in str(error.value)


# -- a server that accepts the request, sends the stream's headers, then nothing ----------------


class StalledServer:
    """What a server busy reading a long prompt looks like: the stream is open, no token yet."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.client_left = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n")
            while connection.recv(65536):  # until the client closes its end
                pass
            self.client_left.set()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture
def stalled_server():
    server = StalledServer()
    yield server
    server.close()


def test_stopping_before_the_first_token_closes_the_stream(stalled_server):
    model = ServedModel(stalled_server.url, timeout=600)  # stop must not wait for a timeout
    generation = model.generate("hello", max_tokens=8, should_stop=lambda: True)
    assert generation.stopped and generation.completion_tokens == 0
    assert stalled_server.client_left.wait(timeout=30)  # the server saw the request go


def test_a_server_that_stays_silent_times_out_in_one_line(stalled_server):
    model = ServedModel(stalled_server.url, timeout=0.5)
    with pytest.raises(ServedModelError) as error:
        model.generate("hello", max_tokens=8)
    assert str(error.value) == (
        f"the model server at {stalled_server.url} sent nothing for 0.5 s (generating); it may be "
        "overloaded: try again, or raise the llm_timeout setting")


# -- what other servers say about themselves (vLLM, llama.cpp's llama-server, Ollama) -----------


class ShapedServer:
    """An HTTP server that answers GET/POST paths with fixed JSON, shaped like another server's
    API; anything else is a 404, as on a server without that endpoint."""

    def __init__(self, answers: dict[str, dict]):
        answers = {path: json.dumps(body).encode() for path, body in answers.items()}

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = answers.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shaped_server(request):
    server = ShapedServer(request.param)
    yield server
    server.close()


VLLM = {"/v1/models": {"data": [{"id": "qwen-7b", "max_model_len": 32768}, {"id": "llama-8b", "max_model_len": 8192}]},
        "/tokenize": {"count": 3, "tokens": [1, 2, 3]}}
LLAMA_SERVER = {"/v1/models": {"data": [{"id": "model.gguf", "meta": {"n_ctx_train": 131072}}]},
                "/props": {"default_generation_settings": {"n_ctx": 4096}}, "/tokenize": {"tokens": [5, 6]}}
OLLAMA = {"/v1/models": {"data": [{"id": "qwen2.5:7b"}]}}


@pytest.mark.parametrize("shaped_server", [VLLM], indirect=True)
def test_several_models_need_a_choice_and_max_model_len_is_the_context(shaped_server):
    with pytest.raises(ServedModelError, match=r"serves several models: choose one .*\(qwen-7b, llama-8b\)"):
        ServedModel(shaped_server.url).load()
    model = ServedModel(shaped_server.url, model="llama-8b")
    model.load()
    assert (model.name, model.n_ctx, model.info["token_counting"]) == ("llama-8b", 8192, "by the server")
    capped = ServedModel(shaped_server.url, model="qwen-7b", n_ctx=4096)
    capped.load()
    assert capped.n_ctx == 4096


@pytest.mark.parametrize("shaped_server", [LLAMA_SERVER], indirect=True)
def test_llama_servers_props_give_the_context_it_runs_with(shaped_server):
    model = ServedModel(shaped_server.url)
    model.load()
    assert (model.n_ctx, model.info["context"]) == (4096, "from the server")  # not the trained 131072
    assert model.count_tokens("a text") == 2  # its /tokenize


@pytest.mark.parametrize("shaped_server", [OLLAMA], indirect=True)
def test_a_server_that_says_nothing_gets_the_setting_and_estimated_counts(shaped_server):
    model = ServedModel(shaped_server.url, n_ctx=8192)
    model.load()
    assert (model.n_ctx, model.info["token_counting"]) == (8192, "estimated")
    assert model.count_tokens("x" * 300) == estimate_tokens("x" * 300)
    bare = ServedModel(shaped_server.url)
    bare.load()
    assert bare.n_ctx == 2048 and "set n_ctx" in bare.info["context"]


# -- the local model on a GPU ------------------------------------------------------------------


def test_n_gpu_layers_reaches_llama_cpp():
    settings = load_settings({"n_gpu_layers": 2, "n_ctx": 512, "threads": THREADS})
    choice = choose_model(settings)
    model = choice.load()
    assert model._llm.model_params.n_gpu_layers == 2 and model.info["gpu_layers"] == 2
    assert model.info["name"] == choice.name  # a CPU-only llama.cpp loads it all the same


def test_progress_shows_a_served_models_name_without_terminal_escapes(capsys):
    """The status lines name what the server calls its model (and files being indexed):
    a hostile name must not drive the terminal."""
    from ragtui.commands.rag import _stderr_progress

    _stderr_progress()("ready: \x1b]0;owned\x07evil\x1b[31mred\r\nmodel on http://h:1/v1, context 2048 tokens")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err
    assert err == "ready: evilred model on http://h:1/v1, context 2048 tokens\n"

"""The app's edges (issue 9, case 11): a failed answer shows as failed and is not
duplicated by live sync; answers follow their questions; an answer keeps its session
alive and is never moved to another one; no reachable store, no app."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from ragtui import cli
from ragtui.rag.prompt import PromptTooLong
from ragtui.sessions import open_store
from ragtui.tui import live_sync
from ragtui.tui.widgets.chat_messages import AssistantMessage, Notice, UserMessage
from ragtui.tui.widgets.prompt_input import PromptInput
from ragtui.tui.widgets.streaming_answer import StreamingAnswer
from tests.redis_server import free_port
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService

TOO_LONG = "the question is too long for the model's context (3,100 tokens, at most 1,500)"


async def ask(pilot, question: str) -> None:
    await pilot.press(*question, "enter")


def notices(app) -> list[str]:
    return [str(notice.render()) for notice in app.query(Notice)]


def transcript(app) -> list[tuple[str, str]]:
    """What the chat shows, top to bottom: (kind, text)."""
    return [
        ("Q" if isinstance(w, UserMessage) else "A", w.text.removeprefix("↻ "))
        for w in app.query_one("#transcript").children
        if isinstance(w, (UserMessage, AssistantMessage))
    ]


async def test_a_failed_answer_shows_failed_with_its_reason_and_live_sync_adds_nothing(settings, memory_store):
    service = FakeChatService(memory_store)
    service.fail_with = PromptTooLong(TOO_LONG)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await ask(pilot, "a very long question")
        await until(pilot, lambda: app.query(AssistantMessage) and not screen.answering.generating, what="the failure")
        failed = app.query_one(AssistantMessage)
        assert failed.failed == TOO_LONG and failed.text == ""
        text = screen_text(app)
        assert "FAILED" in text and "too long" in text and "(stopped" not in text

        saved = memory_store.get_conversation_history(screen.session_id)
        assert [m.content for m in saved] == ["a very long question"]  # kept, as documented
        await until(pilot, lambda: screen.sync.newest_id == saved[-1].id, what="a poll that saw the question")
        await pilot.pause()
        assert transcript(app) == [("Q", "a very long question"), ("A", "")]


async def test_questions_sent_while_busy_are_answered_in_the_order_asked(settings, memory_store):
    service = FakeChatService(memory_store, reply="answer", hold_at=0)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await ask(pilot, "q1")
        await until(pilot, lambda: app.query(StreamingAnswer), what="the first answer to start")
        await ask(pilot, "q2")
        await ask(pilot, "q3")
        service.release.set()
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 3 and not screen.answering.generating)
        assert transcript(app) == [("Q", "q1"), ("A", "answer"), ("Q", "q2"), ("A", "answer"),
                                   ("Q", "q3"), ("A", "answer")]
        await pilot.press("ctrl+r")  # regenerate: a question too, answered below itself
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 4 and not screen.answering.generating)
        assert transcript(app)[-2:] == [("Q", "q3"), ("A", "answer")]


class CountingStore:
    """A real store that counts extensions (the app's keep-alive)."""

    def __init__(self, store) -> None:
        self._store = store
        self.extended = 0

    def __getattr__(self, name):
        return getattr(self._store, name)

    def extend_session(self, sid, ttl=None):
        self.extended += 1
        return self._store.extend_session(sid, ttl)


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_an_answer_longer_than_the_ttl_stays_in_its_session(settings, monkeypatch):
    ttl = 2
    monkeypatch.setattr(live_sync, "TICK_SECONDS", 0.25)  # keep-alives every 0.75 s, not every 1 s
    store = open_store("memory", ttl=ttl)
    counting = CountingStore(store)
    service = FakeChatService(store, reply="a slow answer")
    app = make_app(replace(settings, ttl=ttl), counting, service)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await ask(pilot, "first")
        await until(pilot, lambda: screen.session_id and not screen.answering.generating)
        sid = screen.session_id
        service.hold_at = 1
        # Typed in one go: on a loaded machine key by key takes longer than the 2 s TTL.
        app.query_one(PromptInput).insert("second, answered slowly")
        await pilot.press("enter")
        # The question extends the session, then the answer keeps it alive (every ttl/3 s):
        # four keep-alives span more than the TTL, which would have expired it otherwise.
        await until(pilot, lambda: counting.extended >= 5, what="the keep-alive")
        service.release.set()
        await until(pilot, lambda: not screen.answering.generating)
        assert screen.session_id == sid
        assert [q for _, q, _ in service.asked] == ["first", "second, answered slowly"]  # asked once each
        saved = store.get_conversation_history(sid)
        assert [m.content for m in saved] == ["first", "a slow answer", "second, answered slowly", "a slow answer"]
        assert saved[3].timestamp - saved[2].timestamp > ttl  # the answer took longer than the TTL
        assert len(store.get_all_active_sessions("alice")) == 1
        assert "expired" not in screen_text(app)
    store.close()


async def test_a_session_deleted_while_answering_fails_that_answer_and_is_not_asked_again(settings, memory_store):
    service = FakeChatService(memory_store, reply="lost words", hold_at=1)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await ask(pilot, "doomed")
        await until(pilot, lambda: app.query(StreamingAnswer) and app.query_one(StreamingAnswer).text == "lost ")
        memory_store.clear_session(screen.session_id)  # another device deleted it
        service.release.set()
        await until(pilot, lambda: not screen.answering.generating)
        failed = app.query_one(AssistantMessage)
        assert "was not saved" in failed.failed and failed.text == "lost words"
        await pilot.pause()
        assert "the answer was not saved" in screen_text(app)  # wrapped below the answer, not cropped
        assert len(service.asked) == 1 and memory_store.get_all_active_sessions("alice") == []
        await until(pilot, lambda: screen.session_id is None, what="the store to say it is gone")
        assert notices(app) == ["This session expired. Your next question starts a new session."]


async def test_a_question_in_a_session_that_expired_says_so_before_starting_a_new_one(
    settings, memory_store, monkeypatch
):
    monkeypatch.setattr(live_sync, "LOCAL_SECONDS", 3600)  # the app must find out on its own
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await ask(pilot, "one")
        await until(pilot, lambda: screen.session_id and not screen.answering.generating)
        old = screen.session_id
        memory_store.clear_session(old)
        await ask(pilot, "two")
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not screen.answering.generating)
        assert screen.session_id not in (None, old)
        assert notices(app) == ["This session expired: your question starts a new session."]
        shown = list(app.query_one("#transcript").children)
        after_notice = shown[shown.index(app.query_one(Notice)) + 1]  # said before the question it concerns
        assert isinstance(after_notice, UserMessage) and after_notice.text == "two"
        assert [m.content for m in memory_store.get_conversation_history(screen.session_id)][0] == "two"


# --- no store, no app --------------------------------------------------------------------

def nowhere() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # a free port: nothing listens there


async def test_the_app_refuses_to_start_when_its_redis_is_unreachable(settings):
    from ragtui.tui.app import build_app

    app = build_app(replace(settings, store=nowhere()))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.startup_error is not None, what="the refusal")
    assert app.return_code == 2
    assert "unreachable" in app.startup_error and "\n" not in app.startup_error


@pytest.mark.parametrize("command", [
    ["sessions", "list"], ["sessions", "show", "abc"], ["stats"], ["ask", "hello"],
    ["sessions", "extend", "abc"],
])
def test_cli_commands_refuse_an_unreachable_redis_in_one_line(command, capsys):
    for store in (["--store", nowhere()], ["--store", "redis", "--redis-url", nowhere()]):
        assert cli.main([*store, *command]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("ragtui: ") and "unreachable" in err


def test_cli_auto_mode_still_falls_back_when_redis_is_unreachable(capsys, monkeypatch):
    monkeypatch.setenv("RAGTUI_REDIS_URL", nowhere())
    assert cli.main(["sessions", "list"]) == 0


def test_the_real_binary_refuses_to_start_in_a_terminal(tmp_path, tmux_binary):
    """`ragtui --store redis://…` with nothing there, in a real terminal (tmux): one line on
    the terminal after the app is gone, exit status 2."""
    name, url = f"ragtui-refuse-{uuid.uuid4().hex[:8]}", nowhere()
    status = tmp_path / "status"
    ragtui = Path(sys.executable).with_name("ragtui")
    env = {"RAGTUI_DATA_DIR": str(tmp_path / "data"), "RAGTUI_CONFIG": str(tmp_path / "c.toml"),
           "TERM": "xterm-256color"}
    script = f"{ragtui} --store {url}; echo $? > {status}; tmux -L {name} wait-for -S {name}"

    def tmux(*args: str) -> str:  # a server of its own (-L): it has this process's environment
        return subprocess.run(["tmux", "-L", name, *args], check=True, capture_output=True, text=True,
                              timeout=60).stdout

    tmux("new-session", "-d", "-s", name, "-x", "250", "-y", "30",  # wide: the line must not wrap
         *[arg for k, v in env.items() for arg in ("-e", f"{k}={v}")], "sh", "-c", f"{script}; sleep 60")
    try:
        tmux("wait-for", name)  # until the app has exited
        lines = [line for line in tmux("capture-pane", "-p", "-t", name).splitlines() if line.strip()]
        assert status.read_text().strip() == "2"
        assert lines == [f"ragtui: {lines[0].removeprefix('ragtui: ')}"]  # one line, nothing else left
        assert url in lines[0] and "unreachable" in lines[0]
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


async def test_quitting_while_an_answer_is_written_stops_it(settings, memory_store):
    service = FakeChatService(memory_store, reply="never finished", hold_at=1)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await ask(pilot, "long one")
        await until(pilot, lambda: app.query(StreamingAnswer) and app.query_one(StreamingAnswer).text == "never ")
        await pilot.press("ctrl+q", "y")  # memory mode: quitting asks first
    assert service.idle.wait(15)
    assert [a.stopped for a in service.answers] == [True]  # stopped by the exit, not waited for


async def test_the_chosen_theme_is_kept_for_next_time(settings, memory_store):
    async with make_app(settings, memory_store).run_test(size=(120, 30)) as pilot:
        pilot.app.theme = "nord"
        await pilot.pause()
    async with make_app(settings, memory_store).run_test(size=(120, 30)) as pilot:
        assert pilot.app.theme == "nord"
    explicit = replace(settings, theme="gruvbox")  # a theme set in the config or environment wins
    async with make_app(explicit, memory_store).run_test(size=(120, 30)) as pilot:
        assert pilot.app.theme == "gruvbox"


async def test_a_screenshot_needs_no_downloads_folder(settings, memory_store, monkeypatch):
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("HOME", str(settings.data_dir / "home"))  # no user-dirs.dirs to find it in
    async with make_app(settings, memory_store).run_test(size=(120, 30)) as pilot:
        pilot.app.deliver_screenshot()
        folder = settings.data_dir / "screenshots"
        await until(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")), what="the screenshot file")


async def test_quitting_in_memory_mode_asks_first(settings, memory_store):
    from ragtui.tui.screens.dialogs import ConfirmDialog

    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await ask(pilot, "keep me")
        await until(pilot, lambda: app.screen.session_id and not app.screen.answering.generating)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("n")
        assert app.is_running
        await pilot.press("ctrl+q", "y")
    assert app.return_code == 0

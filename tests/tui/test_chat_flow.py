"""The main flow: ask, see the streamed answer and its sources, quit, come back, resume."""
from __future__ import annotations

from ragtui.sessions import open_store
from ragtui.tui.screens.sources import SourcesScreen
from ragtui.tui.widgets.chat_messages import AssistantMessage, UserMessage
from ragtui.tui.widgets.session_browser import SessionBrowser
from ragtui.tui.widgets.streaming_answer import StreamingAnswer
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService


async def ask(pilot, question: str) -> None:
    await pilot.press(*question)
    await pilot.press("enter")


async def test_ask_stream_sources_quit_and_resume(settings, private_data_dir):
    store = open_store("local", data_dir=private_data_dir)
    app = make_app(settings, store)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready, what="the fake model")
        await ask(pilot, "how do I start")
        await until(pilot, lambda: not screen.answering.generating and app.query(AssistantMessage), what="an answer")
        answer = app.query_one(AssistantMessage)
        assert answer.text == "Run **make run** [1]."
        assert "Sources:  [1] Guide · § Install" in screen_text(app)
        await until(pilot, lambda: app.query_one(SessionBrowser).sessions, what="the session in the browser")
        assert app.query_one(SessionBrowser).sessions[0].title == "how do I start"

        await pilot.press("ctrl+o")
        assert isinstance(app.screen, SourcesScreen)
        text = screen_text(app)
        assert "docs/guide.md · § Install" in text and "Run `make run` to start." in text
        await pilot.press("escape")
        await pilot.press("ctrl+q")
    store.close()

    store = open_store("local", data_dir=private_data_dir)
    service = FakeChatService(store, reply="Again.")
    app = make_app(settings, store, service)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        browser = app.query_one(SessionBrowser)
        await until(pilot, lambda: browser.sessions, what="the old session listed")
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query(UserMessage)) == 1, what="the history")
        assert app.query_one(AssistantMessage).text == "Run **make run** [1]."
        sid = browser.sessions[0].id
        assert screen.session_id == sid

        await until(pilot, lambda: screen.answering.model_ready, what="the fake model")
        app.query_one("#prompt").focus()
        await ask(pilot, "and then")
        await until(pilot, lambda: not screen.answering.generating and len(app.query(AssistantMessage)) == 2)
        asked_sid, question, history = service.asked[-1]
        assert (asked_sid, question) == (sid, "and then")
        assert history == ["how do I start", "Run **make run** [1]."]  # the model saw the resumed chat
    store.close()


async def test_question_before_model_is_ready_is_answered_when_it_is(settings, memory_store):
    service = FakeChatService(memory_store)
    service.load_gate.clear()
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "loading the fake model" in screen_text(app), what="load progress")
        await ask(pilot, "early question")
        pending = app.query_one(UserMessage)
        assert pending.has_class("-pending") and not service.asked
        service.load_gate.set()
        await until(pilot, lambda: app.query(AssistantMessage) and not app.screen.answering.generating)
        assert service.asked[0][1] == "early question"
        assert not pending.has_class("-pending")


async def test_escape_stops_and_keeps_what_was_generated(settings, memory_store):
    service = FakeChatService(memory_store, reply="one two three four", hold_at=2)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await ask(pilot, "go")
        await until(pilot, lambda: app.query(StreamingAnswer) and app.query_one(StreamingAnswer).text == "one two ")
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.answering.generating, what="the stop")
        assert "(stopped — what was generated is kept)" in screen_text(app)
        saved = memory_store.get_conversation_history(app.screen.session_id)
        assert [m.content for m in saved] == ["go", "one two "]


async def test_copy_regenerate_and_new_chat(settings, memory_store):
    service = FakeChatService(memory_store, reply="copied text")
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await ask(pilot, "q1")
        await until(pilot, lambda: app.query(AssistantMessage) and not app.screen.answering.generating)
        await pilot.press("f5")
        assert app.clipboard == "copied text"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.screen.answering.generating)
        assert [q for _, q, _ in service.asked] == ["q1", "q1"]
        first_session = app.screen.session_id
        await pilot.press("ctrl+n")
        assert not app.query(AssistantMessage) and app.screen.session_id is None
        await ask(pilot, "q2")
        await until(pilot, lambda: app.query(AssistantMessage) and not app.screen.answering.generating)
        assert app.screen.session_id not in (None, first_session)


async def test_a_nothing_found_answer_leaves_the_last_real_speed_in_the_stats(settings, memory_store):
    service = FakeChatService(memory_store, reply="answer")
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        stats = app.query_one("#stats-model")
        await pilot.press(*"first", "enter")
        await until(pilot, lambda: "25.0 tok/s" in str(stats.render()), what="the first answer's speed")
        service.completion_tokens = 0  # nothing relevant found: no model ran, nothing to measure
        await pilot.press(*"unknown", "enter")
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.screen.answering.generating)
        await pilot.pause()
        shown = str(stats.render())
        assert "25.0 tok/s" in shown and "0 out" not in shown

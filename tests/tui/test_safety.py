"""Untrusted text is shown literally, never run as markup or terminal escapes."""
from __future__ import annotations

from ragtui.safe_text import clean, for_display, one_line
from ragtui.tui.widgets.chat_messages import AssistantMessage, UserMessage
from ragtui.tui.widgets.session_browser import SessionBrowser
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService

HOSTILE = "[bold]x[/] [@click=app.quit]quit[/] \x1b[31mred\x1b[0m\x1b]52;c;aGk=\x07 bell\x07 ok"


async def assert_hostile_answer_is_inert(app, pilot) -> str:
    """HOSTILE shows as plain text, its escapes are gone, and clicking it runs nothing."""
    text = screen_text(app)
    assert "[bold]x[/] [@click=app.quit]quit[/] red bell" in text
    assert "\x1b" not in app.query_one(AssistantMessage).text
    await pilot.click(AssistantMessage)  # a parsed @click would quit the app
    await pilot.pause()
    assert app.is_running
    return text


def test_clean_strips_escapes_and_controls_but_keeps_newlines_and_tabs():
    assert clean("a\tb\nc") == "a\tb\nc"
    assert clean("\x1b[31mred\x1b[0m") == "red"
    assert clean("x\x1b]52;c;aGk=\x07y") == "xy"  # OSC 52 would write the clipboard
    assert clean("\x9b2J!") == "!"  # C1 CSI
    assert clean("a\x00b\x07c\x7f") == "a\ufffdb\ufffdc\ufffd"
    assert clean("line\r\nnext\rover") == "line\nnextover"
    assert one_line("  two\nlines ", 5) == "two …"
    assert for_display("x" * 10, limit=4) == ("xxxx", True)


async def test_markup_in_answers_questions_and_titles_is_shown_literally(settings, memory_store):
    sid = memory_store.create_session("alice", title="[b]T[/b] [@click=app.quit]")
    memory_store.add_message(sid, "user", "seed")
    service = FakeChatService(memory_store, reply=HOSTILE)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await pilot.press(*"[b]q[/b]", "enter")
        await until(pilot, lambda: app.query(AssistantMessage) and not app.screen.answering.generating)
        await until(pilot, lambda: len(app.query_one(SessionBrowser).sessions) == 2)
        await pilot.pause()
        text = await assert_hostile_answer_is_inert(app, pilot)
        assert "[b]q[/b]" in text
        assert "[b]T[/b] [@click=app.quit]" in text


async def test_markup_in_resumed_answers_is_shown_literally(settings, memory_store):
    """History is drawn by Rich's Markdown, not Textual's widget: the same guarantees hold."""
    sid = memory_store.create_session("alice", title="old chat")
    memory_store.add_message(sid, "user", "seed")
    memory_store.add_message(sid, "assistant", f"{HOSTILE}\n\n- see [the docs](https://example.com)")
    app = make_app(settings, memory_store)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.query_one(SessionBrowser).sessions)
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.query(AssistantMessage), what="the resumed answer")
        await pilot.pause()
        await assert_hostile_answer_is_inert(app, pilot)


async def test_a_one_megabyte_message_is_shown_cut_with_a_note_and_kept_whole(settings, memory_store):
    sid = memory_store.create_session("alice", title="huge")
    big = "# heading\n" + ("word " * 210_000)
    memory_store.add_message(sid, "user", "give me everything")
    memory_store.add_message(sid, "assistant", big)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        browser = app.query_one(SessionBrowser)
        await until(pilot, lambda: browser.sessions)
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.query(AssistantMessage), what="the big message")
        await pilot.pause()
        assert "showing the first 20,000 of 1,050,010 characters" in screen_text(app)
        assert len(memory_store.get_messages(sid, -1, -1)[0].content) == len(big)
        await pilot.press("ctrl+n")  # still responsive
        assert not app.query(UserMessage)

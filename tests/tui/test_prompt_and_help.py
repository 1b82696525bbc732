"""The question box keys, the help screen, the command palette and the keys doc."""
from __future__ import annotations

from pathlib import Path

from ragtui.tui.screens.help import HelpScreen, key_table
from ragtui.tui.widgets.prompt_input import PromptInput
from tests.tui.conftest import make_app, screen_text, until

DOC = Path(__file__).resolve().parents[2] / "README.md"


async def test_enter_sends_ctrl_j_breaks_the_line_and_up_down_recall(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        await pilot.press("a", "ctrl+j", "b")
        assert prompt.text == "a\nb"
        await pilot.press("enter")
        assert prompt.text == ""
        await until(pilot, lambda: app.screen.session_id, what="the question to be asked")
        await pilot.press(*"draft", "up")
        assert prompt.text == "a\nb"
        await pilot.press("down")
        assert prompt.text == "draft"


async def test_f1_lists_every_key_and_the_palette_runs_actions(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 100)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for _, entries in key_table():
            for keys, description in entries:
                assert description in text, description
        await pilot.press("escape")

        stats = app.query_one("#stats")
        shown = stats.display
        await pilot.press("ctrl+p", *"stats pane")
        await until(pilot, lambda: "f3" in screen_text(app), what="the palette's hit with its key")
        await pilot.press("enter")
        await until(pilot, lambda: stats.display != shown, what="the palette to toggle the stats pane")


def test_docs_list_every_key():
    doc = DOC.read_text(encoding="utf-8")
    for _, entries in key_table():
        for keys, description in entries:
            assert f"| `{keys}` | {description} |" in doc, (keys, description)


async def test_a_paste_keeps_its_text_and_lines_but_no_terminal_escapes(settings, memory_store):
    from textual import events

    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        app.post_message(events.Paste("\x1b[31mRED\x1b[0m plain\n\tend\x1b]0;title\x07"))  # as the terminal sends it
        await pilot.pause()
        assert prompt.text == "RED plain\n\tend"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.session_id and not app.screen.answering.generating)
        stored = memory_store.get_conversation_history(app.screen.session_id)[0].content
        assert stored == "RED plain\n\tend" and "\x1b" not in stored


def test_the_terminal_parser_keeps_a_bracketed_paste_whole():
    """What tmux 3.3 sends for a paste holding colour codes and line breaks, split across
    two reads: one Paste event, its escapes gone, its lines kept, and no key presses."""
    from textual import events

    from ragtui.tui.terminal import PasteSafeParser

    sent = "\x1b[200~first \x1b[31mRED\x1b[0m plain\rsecond line\tTAB \x1b]0;title\x07end\x1b[201~"
    for cut in (3, 20, len(sent) - 3):  # reads cut inside the brackets and inside the paste
        parser = PasteSafeParser()
        got = [*parser.feed(sent[:cut]), *parser.feed(sent[cut:] + "x"), *parser.feed("")]
        pastes = [e.text for e in got if isinstance(e, events.Paste)]
        keys = [e.key for e in got if isinstance(e, events.Key)]
        assert pastes == ["first RED plain\nsecond line\tTAB end"] and keys == ["x"], cut

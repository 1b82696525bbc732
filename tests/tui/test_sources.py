"""An answer stored by an earlier release (its sources as that release wrote them) opens and
shows its evidence, sources line and sources screen; document text is never markup."""
from __future__ import annotations

from ragtui.tui.screens.sources import SourcesScreen
from ragtui.tui.widgets.chat_messages import AssistantMessage, UserMessage
from ragtui.tui.widgets.session_browser import SessionBrowser
from tests.tui.conftest import make_app, screen_text, until

# dataclasses.asdict(Citation) of the releases before Source: no similarity; the first
# releases had no evidence either.
WITH_EVIDENCE = {"n": 1, "source": "docs/old.md", "title": "Old [bold]guide[/]", "location": "§ Start",
                 "text": "Run [red]make run[/] to start.", "score": 0.5, "cited": True,
                 "evidence": [[1, "Run make run to start."]]}
BEFORE_EVIDENCE = {"n": 2, "source": "docs/faq.md", "title": "FAQ", "location": "", "text": "Sessions expire.",
                   "score": 0.25, "cited": False}


async def test_an_answer_stored_by_an_earlier_release_shows_its_sources(settings, memory_store):
    sid = memory_store.create_session("alice", "old chat")
    memory_store.add_message(sid, "user", "how do I start")
    memory_store.add_message(sid, "assistant", "Run it [1].", sources=[WITH_EVIDENCE, BEFORE_EVIDENCE])
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = app.query_one(SessionBrowser)
        await until(pilot, lambda: browser.sessions, what="the stored session listed")
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.query(UserMessage), what="the stored chat")
        answer = app.query_one(AssistantMessage)
        assert [(s.n, s.cited, s.similarity) for s in answer.sources] == [(1, True, 0.0), (2, False, 0.0)]
        text = screen_text(app)
        assert "Evidence:" in text and "[1] “Run make run to start.”" in text
        assert "Sources:  [1] Old [bold]guide[/] · § Start  (+1 not cited)" in text

        await pilot.press("ctrl+o")
        assert isinstance(app.screen, SourcesScreen)
        text = screen_text(app)
        assert "docs/old.md · § Start · score 0.500" in text and "Run [red]make run[/] to start." in text
        assert "docs/faq.md · whole file · score 0.250 · not cited" in text

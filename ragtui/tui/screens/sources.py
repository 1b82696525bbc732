"""The passages an answer cited: each one's file, location and text."""
from __future__ import annotations

from typing import Sequence

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...safe_text import clean, one_line
from ...source import Source

PASSAGE_LIMIT = 4000  # a passage is a chunk; anything longer is not one we made


def passage(source: Source) -> Content:
    title = one_line(source.title or source.source or "?", 80)
    where = one_line(f"{source.source or '?'} · {source.location or 'whole file'}", 120)
    cited = "" if source.cited or source.evidence else " · not cited"
    return Content.assemble(
        (f"[{source.n}] ", "bold $accent"),
        (title, "bold"),
        "\n",
        (f"{where} · score {source.score:.3f}{cited}", "dim"),
        "\n\n",
        clean(source.text)[:PASSAGE_LIMIT],
    )


class SourcesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, sources: Sequence[Source]) -> None:
        super().__init__()
        self._sources = list(sources)

    def compose(self):
        with VerticalScroll(id="sources", can_focus=True) as scroll:
            scroll.border_title = f"Sources ({len(self._sources)})"
            if not self._sources:
                yield Static("This answer cited no passages.", markup=False)
            for source in self._sources:
                yield Static(passage(source), classes="passage")
        yield Footer()

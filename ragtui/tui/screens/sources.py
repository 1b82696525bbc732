"""The passages an answer cited: each one's file, location and text."""
from __future__ import annotations

from typing import Any, Sequence

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...safe_text import clean, one_line

PASSAGE_LIMIT = 4000  # a passage is a chunk; anything longer is not one we made


def passage(source: dict[str, Any]) -> Content:
    title = one_line(str(source.get("title") or source.get("source") or "?"), 80)
    where = one_line(f"{source.get('source', '?')} · {source.get('location') or 'whole file'}", 120)
    score = source.get("score")
    text = clean(str(source.get("text") or ""))[:PASSAGE_LIMIT]
    return Content.assemble(
        (f"[{source.get('n', '?')}] ", "bold $accent"),
        (title, "bold"),
        "\n",
        (where + (f" · score {score:.3f}" if isinstance(score, (int, float)) else ""), "dim"),
        "\n\n",
        text,
    )


class SourcesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, sources: Sequence[dict[str, Any]]) -> None:
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

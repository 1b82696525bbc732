"""F1: every key, by where it works."""
from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ..keys import key_table


def help_text() -> Content:
    lines: list[Content] = []
    for section, entries in key_table():
        lines.append(Content.styled(section, "bold $accent"))
        for keys, description in entries:
            lines.append(Content.assemble((f"  {keys:<22}", "bold"), description))
        lines.append(Content(""))
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self):
        with VerticalScroll(id="help", can_focus=True) as scroll:
            scroll.border_title = "Keys"
            yield Static(help_text())
        yield Footer()

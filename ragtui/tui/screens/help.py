"""F1: every key, by where it works — built from the classes' BINDINGS, so help and docs
cannot drift."""
from __future__ import annotations

from typing import Iterable

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ..widgets.chat_messages import AssistantMessage
from ..widgets.prompt_input import PromptInput
from ..widgets.session_browser import SessionBrowser
from .admin import AdminScreen
from .dialogs import ConfirmDialog, ExportFormatDialog, TextPrompt
from .main import MainScreen
from .session_view import SessionViewScreen
from .sources import SourcesScreen

# Keys Textual provides that no class of ours declares.
BUILTIN = [
    ("ctrl+p", "Command palette: every action, searchable"),
    ("tab / shift+tab", "Next / previous pane or field"),
    ("ctrl+q", "Quit"),
]


def rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for each binding that has a description."""
    found = []
    for binding in bindings:
        if isinstance(binding, Binding):
            keys, description = binding.key, binding.description
        else:
            keys, description = binding[0], (binding[2] if len(binding) > 2 else "")
        if description:
            found.append((keys.replace("slash", "/").replace(",", " / "), description))
    return found


def key_table() -> list[tuple[str, list[tuple[str, str]]]]:
    """Sections of (keys, description), in the order the help screen shows them."""
    return [
        ("Anywhere", BUILTIN + rows(MainScreen.BINDINGS)),
        ("Question box", rows(PromptInput.BINDINGS)),
        ("An answer (focused)", rows(AssistantMessage.BINDINGS)),
        ("Session browser", rows(SessionBrowser.BINDINGS) + [("enter", "Resume the session")]),
        ("Admin panel", rows(AdminScreen.BINDINGS)),
        ("Sources view", rows(SourcesScreen.BINDINGS)),
        ("Read-only session (admin)", rows(SessionViewScreen.BINDINGS)),
        (
            "Dialogs",
            rows(ConfirmDialog.BINDINGS) + rows(TextPrompt.BINDINGS) + rows(ExportFormatDialog.BINDINGS),
        ),
    ]


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

"""The table of keys, built from the classes' BINDINGS so help and docs cannot drift."""
from __future__ import annotations

from typing import Iterable

from textual.binding import Binding, BindingType

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
    from .screens.admin import AdminScreen
    from .screens.dialogs import ConfirmDialog, ExportFormatDialog, TextPrompt
    from .screens.main import MainScreen
    from .screens.session_view import SessionViewScreen
    from .screens.sources import SourcesScreen
    from .widgets.chat_messages import AssistantMessage
    from .widgets.prompt_input import PromptInput
    from .widgets.session_browser import SessionBrowser

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

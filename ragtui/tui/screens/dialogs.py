"""Small modal questions: confirm, type a name, pick an export format."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..exporting import export_to_file, run_store_action


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no; dismisses with True only on an explicit yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self._question = question

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Static(Content(self._question), classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no").focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextPrompt(ModalScreen[str | None]):
    """One line of text, e.g. a new title; None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__(classes="dialog")
        self._question = question
        self._value = value

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Static(Content(self._question), classes="dialog-question")
            yield Input(value=self._value, id="dialog-input")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportFormatDialog(ModalScreen[str | None]):
    """Markdown or JSON; None when cancelled."""

    BINDINGS = [
        Binding("m", "choose('md')", "Markdown"),
        Binding("j", "choose('json')", "JSON"),
        Binding("escape", "choose(None)", "Cancel"),
    ]

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Static("Export this session as…", classes="dialog-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Markdown (m)", id="md", variant="primary")
                yield Button("JSON (j)", id="json")

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_choose(self, fmt: str | None) -> None:
        self.dismiss(fmt)


def choose_format_and_export(node: DOMNode, store, session_id: str, data_dir: Path) -> None:
    """Ask Markdown or JSON, then write the file in a worker; `node` receives StoreActionDone."""

    def chosen(fmt: str | None) -> None:
        if fmt:
            run_store_action(node, partial(export_to_file, store, session_id, fmt, data_dir),
                             lambda path: f"Exported to {path}")

    node.app.push_screen(ExportFormatDialog(), chosen)

"""The Textual app: collaborators are injected; `build_app` makes the real ones.

Opening the store may wait on a Redis timeout and the chat service pulls in torch and
llama.cpp, so `build_app` hands the app a `connect` function that a worker calls after
the first frame is on screen; the app then hands the store and service to its screen and
loads the model in another worker.

With `admin` the app opens on the admin panel alone: the chat screen (its listing, live
sync, footer) and the model are made only when the operator leaves the panel for it, so
nothing else competes with the panel's keys.
"""
from __future__ import annotations

import gc
import re
import time
from pathlib import Path
from functools import partial
from typing import TYPE_CHECKING, Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.content import Content

from .. import paths
from ..assembly import open_chat
from ..config import Settings
from ..sessions.api import SessionStoreAPI
from . import messages as msg
from . import ui_state
from .palette import ActionsProvider
from .screens.main import MainScreen
from .side_panes import NARROW

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..rag.chat import ChatService

Connect = Callable[[], "tuple[SessionStoreAPI, ChatService | None]"]


class RagTuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "ragtui"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS = [
        Binding("f1", "help", "Help", show=False),
    ]

    def __init__(
        self,
        settings: Settings,
        store: SessionStoreAPI | None = None,
        chat_service: ChatService | None = None,
        *,
        connect: Connect | None = None,
        admin: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stray_output_log: Path | None = None,
    ) -> None:
        """Give either `store` (and `chat_service`, None = no model) or `connect`.

        `stray_output_log`: where native libraries' stderr goes while the app runs.
        """
        if store is None and connect is None:
            raise ValueError("RagTuiApp needs a store or a connect function")
        super().__init__()
        self.settings = settings
        self.store = store
        self.chat_service = chat_service
        self.connect = connect
        self.open_admin = admin
        self.clock = clock  # wall time, for "5m ago"
        self.monotonic = monotonic  # for the TTL countdown
        self.stray_output_log = stray_output_log
        self.startup_error: str | None = None  # why the app refused to start (the CLI prints it)
        self.main: MainScreen | None = None  # the chat screen, once made (at once unless `admin`)
        self.sub_title = store.describe() if store is not None else "opening the session store…"

    def run(self, *args, **kwargs):
        from .terminal import stray_output_to, use_paste_safe_parser

        use_paste_safe_parser()
        if self.stray_output_log is None:
            return super().run(*args, **kwargs)
        with stray_output_to(self.stray_output_log):
            return super().run(*args, **kwargs)

    def refuse_to_start(self, error: str) -> None:
        """The session store could not be opened: leave rather than take questions that
        could not be kept; `startup_error` says why, and the exit status is 2."""
        self.startup_error = error
        self.exit(return_code=2)

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header. On a narrow terminal a degraded store's long line gives way to what
        matters there, that chats are being saved on this machine (the stats pane says more)."""
        reason = self.store.fallback_reason if self.store is not None else None
        if reason and self.size.width < NARROW:
            reason = re.sub(r"\s*\([^()]*://[^()]*\)", "", reason)  # its URL: in the stats pane
            sub_title = f"✗ {reason} — saving on this machine until it is back"
        return super().format_title(title, sub_title)

    def _theme_to_use(self) -> str:
        """A theme set in the config or environment, else the one chosen last time."""
        if self.settings.theme != Settings.theme:
            return self.settings.theme
        return str(ui_state.load(self.settings.data_dir).get("theme") or self.settings.theme)

    def _remember_theme(self, theme: str) -> None:
        ui_state.save(self.settings.data_dir, theme=theme)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Screenshots go to `<data dir>/screenshots` unless told otherwise: Textual's default,
        the Downloads folder, is unknown where XDG_DOWNLOAD_DIR is not set."""
        folder = path or str(paths.ensure_private_dir(Path(self.settings.data_dir) / "screenshots"))
        return super().deliver_screenshot(filename, folder, time_format)

    async def action_quit(self) -> None:
        """In memory mode, quitting loses the chat: ask first."""
        if (self.store is None or self.store.backend != "memory" or self.main is None
                or self.main.session_id is None):
            self.exit()
            return
        from .screens.dialogs import ConfirmDialog

        question = "Quit? Sessions are kept in memory only: this chat is lost."
        self.push_screen(ConfirmDialog(question), lambda yes: self.exit() if yes else None)

    def get_default_screen(self) -> Screen:
        if self.open_admin:
            from .screens.admin import AdminScreen

            return AdminScreen()
        return self._make_chat()

    def _make_chat(self) -> MainScreen:
        self.main = MainScreen(self.settings, clock=self.clock, monotonic=self.monotonic)
        return self.main

    async def show_chat(self) -> None:
        """From the admin panel the app opened on (`--admin`) to the chat screen, made the
        first time and kept (F4 comes back to the panel)."""
        if self.main is not None:
            self.push_screen("chat")
            return
        self.install_screen(self._make_chat(), "chat")
        await self.push_screen("chat")
        if self.store is not None:
            self._start_chat(self.store, self.chat_service)

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame_shown)
        theme = self._theme_to_use()
        if theme in self.available_themes:
            self.theme = theme
        self.watch(self, "theme", self._remember_theme, init=False)  # the palette's "Theme"
        if self.store is not None:
            self.post_message(msg.StoreOpened(self.store, self.chat_service))
        elif self.connect is not None:
            # After the first frame: the worker's imports compete with it for the GIL.
            self.call_after_refresh(self._connect, self.connect)

    @work(thread=True, exclusive=True, group="connect")
    def _connect(self, connect: Connect) -> None:
        try:
            store, service = connect()
        except Exception as exc:  # any failure here must reach the user, not a traceback
            self.post_message(msg.StoreFailed(str(exc)))
            return
        self.post_message(msg.StoreOpened(store, service))

    @on(msg.StoreFailed)
    def _store_failed(self, event: msg.StoreFailed) -> None:
        # Without a store nothing typed here could be kept: don't pretend to take questions.
        self.refuse_to_start(event.error)

    @on(msg.StoreOpened)
    def _store_opened(self, event: msg.StoreOpened) -> None:
        self.store, self.chat_service = event.store, event.service
        if self.main is None:  # the admin panel alone: it reads the store now
            self.screen.post_message(msg.StoreOpened(event.store, event.service))
        else:
            self._start_chat(event.store, event.service)

    def _start_chat(self, store: SessionStoreAPI, service: ChatService | None) -> None:
        assert self.main is not None
        self.main.post_message(msg.StoreOpened(store, service))  # the screen's own
        if store.backend == "memory":
            self.notify(
                "Sessions are kept in memory only: this chat is lost when you quit. "
                "Use --store local or redis to keep it.",
                title="Nothing is kept", severity="warning", timeout=15,
            )
        if service is not None:
            self._load_model(service)

    @work(thread=True, exclusive=True, group="model")
    def _load_model(self, service) -> None:
        assert self.main is not None
        tell = self.main.chat.post_message  # the chat shows the model's state, then the screen hears it
        tell(msg.ModelProgress("loading the model…"))
        try:
            service.load(progress=lambda step: tell(msg.ModelProgress(step)))
        except Exception as exc:  # shown in the chat; the app stays usable for browsing
            tell(msg.ModelFailed(str(exc)))
            return
        # What is loaded by now (Textual, the store, torch, the model) lives as long as the
        # app: keep it out of full collections, which otherwise stall the UI ~0.1 s at random.
        gc.freeze()
        tell(msg.ModelReady(dict(service.model_info), dict(service.index_info)))

    def _first_frame_shown(self) -> None:
        if not gc.isenabled():  # cli.main paused collection for the start-up
            gc.freeze()  # what start-up built lives as long as the app: never scan it again
            gc.enable()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_admin(self) -> None:
        from .screens.admin import AdminScreen

        if isinstance(self.screen, AdminScreen):
            return
        if self.open_admin and self.screen is self.main and len(self.screen_stack) == 2:
            self.pop_screen()  # back to the panel the app opened on
            return
        if not self.is_screen_installed("admin"):  # made once: the next F4 only shows it
            self.install_screen(AdminScreen(), "admin")
        self.push_screen("admin")

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()


def build_app(settings: Settings, admin: bool = False) -> RagTuiApp:
    """The real app: the store (everyone's with `admin`) and chat service are opened in a worker."""
    log = Path(settings.data_dir) / "logs" / "native-stderr.log"
    return RagTuiApp(settings, connect=partial(open_chat, settings, admin=admin), admin=admin, stray_output_log=log)

"""The real collaborators, built from settings in one place: the app (`tui.app.build_app`)
and `ragtui ask` get their session store and chat service here (tests build their own)."""
from __future__ import annotations

from .config import Settings
from .rag.chat import ChatService
from .sessions.api import SessionStoreAPI


def open_chat(settings: Settings, *, admin: bool = False) -> tuple[SessionStoreAPI, ChatService]:
    """The store acting for `settings.user` (every user when `admin`) and a chat service on
    it. Opening the store may wait on Redis; the service loads nothing until `load()`."""
    from .sessions.factory import open_store_from_settings  # redis-py: only once a store is wanted

    store = open_store_from_settings(settings, admin=admin)
    return store, ChatService(store, settings)

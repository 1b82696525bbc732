"""The app and `ragtui ask` get their store and chat service from one place."""
from __future__ import annotations

import pytest

from ragtui.assembly import open_chat
from ragtui.config import load_settings
from ragtui.tui.app import build_app


@pytest.mark.parametrize("admin, acting_for", [(False, "alice"), (True, None)])
def test_open_chat_builds_the_store_for_the_user_or_everyone_and_a_service_on_it(admin, acting_for):
    settings = load_settings({"store": "memory", "user": "alice"})
    store, service = open_chat(settings, admin=admin)
    try:
        assert store.backend == "memory" and store.user == acting_for
        assert service.store is store
    finally:
        store.close()


def test_the_app_connects_through_open_chat_with_its_admin_flag():
    settings = load_settings({"store": "memory", "user": "alice"})
    app = build_app(settings, admin=True)
    store, service = app.connect()
    try:
        assert store.user is None and service.store is store  # the admin panel sees everyone
    finally:
        store.close()

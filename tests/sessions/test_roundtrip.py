"""Whatever people type comes back exactly: markup, escapes, control characters, any script."""
from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragtui.sessions import open_store

HOSTILE = ["[bold]x[/]", "[@click=app.quit]quit[/]", "\x1b[31mred\x1b[0m", "\x00\x07\r\n\t", "{\"op\":\"clear\"}\n"]
texts = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=("Cs",)), max_size=300))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.lists(texts, min_size=1, max_size=5), title=texts)
def test_local_store_returns_every_text_exactly_after_a_restart(contents, title):
    with tempfile.TemporaryDirectory() as data_dir:
        store = open_store("local", data_dir=data_dir)
        sid = store.create_session("alice", title or None)
        for text in contents:
            store.add_message(sid, "user", text, [{"n": 1, "text": text}])
        store.close()
        again = open_store("local", data_dir=data_dir)
        history = again.get_conversation_history(sid)
        assert [m.content for m in history] == contents
        assert [m.sources[0]["text"] for m in history] == contents
        again.close()


def test_a_megabyte_message_is_kept_whole(store):
    sid = store.create_session("alice")
    big = "x" * 1_000_000 + "[/]end"
    store.add_message(sid, "user", big)
    assert store.get_last_n_messages(sid, 1)[0].content == big
    assert len(store.get_session(sid).title) <= 60

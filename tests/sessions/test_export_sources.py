"""`sessions show` and the Markdown export keep what the app shows under an answer: its
evidence quoted, then its sources — also for an answer stored by an earlier release."""
from __future__ import annotations

import json

from ragtui.cli import main
from ragtui.sessions import open_store
from ragtui.sessions.export import export_session
from ragtui.source import Source

CITED = Source(1, "/docs/guide.md", "Guide › Pinning", "chars 0-80", "Press p to pin a chat.", 1.2,
               similarity=0.6, cited=True, evidence=((1, "Press p to pin a chat."),))
NOT_CITED = Source(2, "/docs/faq.md", "FAQ", "", "Pinned chats never expire.", 0.9)
# as a release before Source stored it: no similarity, no evidence, no title
EARLIER = {"n": 1, "source": "guide.md", "location": "chars 0-80", "text": "t", "score": 0.5, "cited": True}


def test_show_and_markdown_export_quote_the_evidence_and_list_the_sources(capsys, redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "Pins")
    store.add_message(sid, "user", "How do I pin?")
    store.add_message(sid, "assistant", "Press p [1].", [s.to_dict() for s in (CITED, NOT_CITED)])
    store.add_message(sid, "user", "And before?")
    store.add_message(sid, "assistant", "Same [1].", [EARLIER])
    store.close()
    where = ["--store", redis_url, "--user", "alice"]

    assert main([*where, "sessions", "show", sid]) == 0
    shown = capsys.readouterr().out
    assert ("Press p [1].\n\nEvidence:\n  [1] “Press p to pin a chat.”\n\nSources:\n"
            "  [1] Guide › Pinning — /docs/guide.md (chars 0-80)\n"
            "  (and 1 more passages the answer did not cite)\n") in shown
    assert "Same [1].\n\nSources:\n  [1] guide.md (chars 0-80)\n" in shown

    target = tmp_path / "pins.md"
    assert main([*where, "sessions", "export", sid, "-o", str(target)]) == 0
    exported = target.read_text()
    assert ("Press p [1].\n\nEvidence:\n- [1] “Press p to pin a chat.”\n\nSources:\n"
            "- [1] Guide › Pinning — /docs/guide.md (chars 0-80)\n") in exported
    assert "Same [1].\n\nSources:\n- [1] guide.md (chars 0-80)\n" in exported


def test_json_export_gives_every_source_todays_fields_whatever_release_stored_it(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "Pins")
    store.add_message(sid, "assistant", "Press p [1].", [CITED.to_dict()])
    store.add_message(sid, "assistant", "Same [1].", [EARLIER])
    exported = json.loads(export_session(store.get_session(sid), store.get_conversation_history(sid), "json"))
    store.close()
    first, second = (m["sources"] for m in exported["messages"])
    assert first == [CITED.to_dict()]
    assert second == [Source(1, "guide.md", "", "chars 0-80", "t", 0.5, cited=True).to_dict()]

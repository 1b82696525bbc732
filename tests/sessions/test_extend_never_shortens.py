"""Activity extends a session, it never cuts one short: a device with the default TTL that
opens or extends a session another device keeps for a day leaves it the day (QA Q28)."""
from __future__ import annotations


def test_an_extend_at_the_stores_own_ttl_never_shortens_a_session(make_store, shared_backend):
    long_lived = make_store(shared_backend, ttl=86_400)
    session_id = long_lived.create_session("alice")
    default = make_store(shared_backend, ttl=3_600)

    assert default.extend_session(session_id) > 80_000  # the ctrl+t / open / admin 'e' path
    assert make_store(shared_backend, ttl=3_600).ttl(session_id) > 80_000  # also as replayed after a restart

    assert default.extend_session(session_id, ttl=60) <= 60  # asked for explicitly: set as asked
    assert 3_000 < default.extend_session(session_id) <= 3_600  # and now the store's own TTL is later


def test_a_session_that_never_expires_stays_so(make_store, shared_backend):
    forever = make_store(shared_backend, ttl=0)
    session_id = forever.create_session("alice")
    assert make_store(shared_backend, ttl=3_600).extend_session(session_id) is None

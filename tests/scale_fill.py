"""Fill a real Redis with many sessions in seconds (one Lua loop per user), in the store's
own key layout (ragtui.sessions.keys), for the scale test and bench/session_scale.py.

Session i of user u (i = 0 is the oldest) is titled "u question i", holds one user
message "about topic i" (and an answer when `answers`), was created `SPACING` seconds
after session i - 1, and lives `ttl` seconds more (ttl 0: pinned, it never expires; the
fastest fill). No message-id sets: nothing is replayed into these sessions.
"""
from __future__ import annotations

import time

from ragtui.sessions.keys import LAYOUT_VERSION, Keys

SPACING = 1.0  # seconds between two sessions' activity

FILL_USER = """
-- KEYS: the user's listing, expiry, sizes, counts; ARGV: user, prefix, n, start, ttl, answers
local user, prefix, n, start, ttl, answers = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local messages = 0
for i = 0, n - 1 do
  local sid = string.format('%s-%06d', user, i)
  local at = start + i
  local meta = prefix .. ':session:' .. sid
  redis.call('HSET', meta, 'user_id', user, 'title', user .. ' question ' .. i, 'created_at', tostring(at),
             'pinned', ttl > 0 and '0' or '1', 'model', '')
  local first = cjson.encode({id = sid .. '-q', role = 'user', content = 'about topic ' .. i,
                              timestamp = at, sources = {}})
  redis.call('RPUSH', meta .. ':messages', first)
  local count = 1
  if answers then
    redis.call('RPUSH', meta .. ':messages', cjson.encode({id = sid .. '-a', role = 'assistant',
               content = 'an answer about topic ' .. i, timestamp = at, sources = {}}))
    count = 2
  end
  if ttl > 0 then
    redis.call('EXPIRE', meta, ttl)
    redis.call('EXPIRE', meta .. ':messages', ttl)
    redis.call('ZADD', KEYS[2], (at + ttl) * 1000, sid)
  else
    redis.call('ZADD', KEYS[2], 'inf', sid)
  end
  redis.call('ZADD', KEYS[1], at, sid)
  redis.call('HSET', KEYS[3], sid, count)
  messages = messages + count
end
redis.call('HINCRBY', KEYS[4], 'sessions', n)
redis.call('HINCRBY', KEYS[4], 'messages', messages)
return messages
"""

FILL_ADMIN = """
-- KEYS: admin sessions, owners, users; ARGV: user, n, start
local user, n, start = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 0, n - 1 do
  local sid = string.format('%s-%06d', user, i)
  redis.call('ZADD', KEYS[1], start + i, sid)
  redis.call('HSET', KEYS[2], sid, user)
end
redis.call('ZADD', KEYS[3], 'NX', start, user)
return n
"""


def user_name(u: int) -> str:
    return f"user{u:02d}"


def session_id(user: str, i: int) -> str:
    """The id the fill gives session i of `user`."""
    return f"{user}-{i:06d}"


def fill(client, *, users: int, sessions_per_user: int, namespace: str = "ragtui", ttl: int = 86400,
         answers: bool = False) -> float:
    """Write users × sessions_per_user sessions; returns the seconds it took."""
    keys = Keys(namespace)
    began = time.perf_counter()
    start = time.time() - sessions_per_user * SPACING - 60
    fill_user, fill_admin = client.register_script(FILL_USER), client.register_script(FILL_ADMIN)
    for u in range(users):
        user = user_name(u)
        fill_user(keys=keys.user_keys(user), args=[user, keys.user_prefix(user), sessions_per_user, start,
                                                   ttl, "1" if answers else "0"])
        fill_admin(keys=[keys.all_sessions, keys.owners, keys.users], args=[user, sessions_per_user, start])
    client.set(keys.layout, str(LAYOUT_VERSION))
    return time.perf_counter() - began


"""Secrets (the Redis password, API keys) never reach the screen, a log, an error or a file.

`mask(text)` is the one function that hides them: every URL's password and `password=`
parameter, and any secret value ragtui read from the environment or a file. It runs on
what ragtui says about itself (describe, stats, doctor, errors, logs), never on what a
user wrote (messages, exports of them).
"""
from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

MASK = "***"
MIN_SECRET = 8  # shorter values are masked in URLs only: inside other text they would garble words

# scheme://netloc — the netloc ends at the path, query, fragment or whitespace; one URL may
# name several hosts (cluster, sentinel), and the userinfo is whatever comes before the last @
_URL = re.compile(r"([a-z][a-z0-9+.\-]*://)([^/?#\s]*)", re.IGNORECASE)
_PASSWORD_PARAM = re.compile(r"([?&](?:[a-z_]*password)=)[^&#\s]*", re.IGNORECASE)
_known: set[str] = set()


def remember(secret: str | None) -> None:
    """A secret read from somewhere (env, file, URL): masked wherever ragtui would print it."""
    if secret and len(secret) >= MIN_SECRET:
        _known.update({secret, quote(secret, safe="")})


def _mask_userinfo(match: re.Match) -> str:
    scheme, netloc = match.groups()
    userinfo, at, hosts = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return match.group(0)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{user}:{MASK}@{hosts}"


def mask(text: str) -> str:
    """`text` with every password in it replaced by ***: redis://alice:***@host:6379/0."""
    text = _URL.sub(_mask_userinfo, text)
    text = _PASSWORD_PARAM.sub(rf"\1{MASK}", text)
    for secret in sorted(_known, key=len, reverse=True):  # longest first: one may contain another
        text = text.replace(secret, MASK)
    return text


def _hide_user(match: re.Match) -> str:
    scheme, netloc = match.groups()
    userinfo, at, hosts = netloc.rpartition("@")
    return f"{scheme}{MASK}@{hosts}" if userinfo and ":" not in userinfo else match.group(0)


def user_only(url: str, *, password_given: bool = False) -> bool:
    """redis://NAME@host with no password anywhere (not in the URL, nor `password_given`
    elsewhere): redis-cli reads that NAME as the password, so it may well be one."""
    if password_given or url_password(url) is not None:
        return False
    try:
        return bool(urlsplit(url).username)
    except ValueError:
        return False


def shown_url(url: str, *, password_given: bool = False) -> str:
    """The URL as ragtui shows it: `mask(url)`, with the user name hidden too when it is
    `user_only` (redis://***@host)."""
    shown = mask(url)
    return _URL.sub(_hide_user, shown) if user_only(url, password_given=password_given) else shown


def url_password(url: str | None) -> str | None:
    """The password a redis:// URL carries (decoded, as the server sees it), if any."""
    if not url or "://" not in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return unquote(parts.password)
    given = parse_qs(parts.query).get("password")
    return given[0] if given else None


def hide_from_process_list(argv: list[str]) -> None:
    """Rewrite the command line `ps` shows when it names a password: any user of the machine
    can read it, for as long as ragtui runs (hours, for the app)."""
    shown = [mask(arg) for arg in argv]
    if shown != argv:
        import setproctitle  # only then: most command lines carry no password

        setproctitle.setproctitle(" ".join(shown))


class MaskingFilter(logging.Filter):
    """Masks a log record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True

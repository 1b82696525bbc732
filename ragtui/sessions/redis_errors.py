"""What a Redis error means, in one line: authentication failed, TLS failed (and why),
permission denied, or unreachable. Only "unreachable" is an outage that auto mode may
ride out on the local store; the others need the operator, so they are never hidden
behind a fallback. (A write Redis refuses for its own state — out of memory, read-only —
is `store.refusal`: kept locally and tried again.)"""
from __future__ import annotations

import ssl

import redis
from redis import exceptions as errors

AUTH_ERRORS = (errors.AuthenticationError, errors.AuthorizationError, errors.AuthenticationWrongNumberOfArgsError)
AUTH_REASONS = {"NOAUTH": "Redis wants a password", "WRONGPASS": "user or password not accepted"}
PASSWORD_HINT = "check the user and password (RAGTUI_REDIS_PASSWORD, redis_password_file or the URL)"
# redis-cli takes redis://WORD@host's WORD for the password; redis-py (and ragtui) for a user name
USER_ONLY_HINT = ("the URL names a user and no password; for a password put a ':' before it in the URL "
                  "(or set RAGTUI_REDIS_PASSWORD)")


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a connection error (redis-py keeps it as the context), if any."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def is_auth_failure(exc: BaseException) -> bool:
    code = (getattr(exc, "status_code", None) or "").upper()
    return isinstance(exc, AUTH_ERRORS) or code in ("NOAUTH", "WRONGPASS")


def is_permission_denied(exc: BaseException) -> bool:
    """NOPERM, also from inside a script (which Redis reports as a script error)."""
    return (isinstance(exc, errors.NoPermissionError) or (getattr(exc, "status_code", None) or "").upper() == "NOPERM"
            or "The user executing the script can't" in str(exc))


def is_outage(exc: BaseException) -> bool:
    """Redis did not answer (refused, reset, timed out): not a wrong password or certificate."""
    return (isinstance(exc, (redis.ConnectionError, redis.TimeoutError))
            and not is_auth_failure(exc) and tls_failure(exc) is None)


def _tls_reason(err: ssl.SSLError) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {err.verify_message}"
    reason = (err.reason or "").replace("_", " ").lower()
    return reason or str(err).split(" (_ssl.c", 1)[0]


def _diagnosis(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to do) for a Redis error that is not an outage."""
    if is_auth_failure(exc):
        why = AUTH_REASONS.get((getattr(exc, "status_code", None) or "").upper(), str(exc))
        return f"authentication failed ({why})", PASSWORD_HINT
    tls = tls_failure(exc)
    if tls is not None:
        hint = ("check redis_ssl_ca_certs (the CA that signed the server's certificate) and the host name"
                if isinstance(tls, ssl.SSLCertVerificationError) else "is that port serving TLS? check the URL")
        return f"TLS failed: {_tls_reason(tls)}", hint
    if is_permission_denied(exc):
        return f"permission denied (NOPERM {exc})", "this Redis user has no rights to that (see `ragtui sessions acl USER`)"
    return str(exc), ""


def reason(exc: BaseException) -> str:
    """Why Redis can't be used right now, in a few words (the degraded header's reason)."""
    return "Redis is unreachable" if is_outage(exc) else _diagnosis(exc)[0]


def explain(exc: BaseException, url: str, *, user_only: bool = False) -> str:
    """One line naming what went wrong with Redis at `url` (already masked) and what to do.
    `user_only`: the URL gave a user name and no password was given anywhere."""
    if is_outage(exc):
        return f"Redis at {url} is unreachable ({exc})"
    what, hint = _diagnosis(exc)
    if user_only and is_auth_failure(exc):
        hint = USER_ONLY_HINT
    return f"Redis at {url}: {what}: {hint}" if hint else f"Redis at {url}: {what}"

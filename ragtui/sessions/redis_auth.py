"""How ragtui proves itself to Redis and checks Redis back: the password (kept off the
command line), the TLS files, and a warning when the server's certificate is not checked."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import ConfigError
from ..secrets import mask, remember

log = logging.getLogger(__name__)

TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")  # redis-py's names; settings add "redis_"
UNCHECKED = "TLS without certificate checks (ssl_cert_reqs=none): anyone on the path can pose as Redis and read the password and every chat"


def client_options(settings) -> dict[str, Any]:
    """Keyword arguments for redis-py: the password from RAGTUI_REDIS_PASSWORD or
    redis_password_file (a password in the URL wins), and the TLS files."""
    options: dict[str, Any] = {}
    password = settings.redis_password or read_password(settings.redis_password_file)
    if password:
        remember(password)
        options["password"] = password
    for name in TLS_FILES:
        path = getattr(settings, f"redis_{name}")
        if path is None:
            continue
        if not Path(path).is_file():
            raise ConfigError(f"setting 'redis_{name}': no file {path}")
        options[name] = str(path)
    return options


def read_password(path: Path | None, given_as: str = "redis_password_file") -> str | None:
    """The password in the file at `path` (its text, without surrounding blanks); `given_as` names it in errors."""
    if path is None:
        return None
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{given_as} {path}: {getattr(exc, 'strerror', None) or 'not a text file'}") from None
    if not password:
        raise ConfigError(f"{given_as} {path} is empty")
    return password


def uses_tls(url: str) -> bool:
    return urlsplit(url).scheme.split("+")[0] == "rediss"


def options_for(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options this URL can take: TLS files given for a plain redis:// URL are an error
    (dropping them would send the password in the clear to someone who expected TLS)."""
    tls = [f"redis_{name}" for name in TLS_FILES if name in options]
    tls += [name for name in parse_qs(urlsplit(url).query) if name.startswith("ssl_")]
    if tls and not uses_tls(url):
        raise ConfigError(f"{', '.join(tls)} given, but {mask(url)} is not a rediss:// URL: "
                          "use rediss:// for TLS, or leave them out")
    return options


def tls_warning(url: str) -> str | None:
    """One line when the URL turns off the check of the server's certificate."""
    query = parse_qs(urlsplit(url).query)
    reqs = [value.lower() for value in query.get("ssl_cert_reqs", [])]
    return UNCHECKED if uses_tls(url) and reqs and reqs[-1] in ("none", "cert_none") else None

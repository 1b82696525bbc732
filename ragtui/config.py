"""Settings: defaults < TOML config file < RAGTUI_* environment < command-line flags."""
from __future__ import annotations

import dataclasses
import getpass
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from . import paths
from .errors import RagtuiError
from .secrets import mask, remember, shown_url, url_password


MAX_TTL = 10 * 365 * 86400  # ten years: longer is "never", which is what 0 (or a pin) is for


class ConfigError(RagtuiError):
    """A setting that cannot be used; the message says which and why."""


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to a stable name
        return "user"


@dataclass
class Settings:
    store: str = "auto"  # auto | redis | local | memory, or a Redis URL (see sessions/connection.py)
    redis_url: str | None = None
    user: str = field(default_factory=_default_user)
    ttl: int = 3600  # seconds of idle time before a session expires; 0 = never
    max_messages: int = 1000
    namespace: str = "ragtui"
    redis_timeout: float = 1.0  # seconds an interactive Redis call may take before saving locally
    redis_password: str | None = field(default=None, repr=False)  # from RAGTUI_REDIS_PASSWORD only; never shown
    redis_password_file: Path | None = None  # or the password from this file (keeps it off argv and env)
    redis_ssl_ca_certs: Path | None = None  # rediss://: the CA that signed the server's certificate
    redis_ssl_certfile: Path | None = None  # rediss://: this client's certificate, when the server asks
    redis_ssl_keyfile: Path | None = None  # … and its private key
    redis_wait_replicas: int | None = None  # replicas a write must reach to count as saved; None: 1 if there are any
    redis_wait_timeout_ms: int | None = None  # … within this long (None: half of redis_timeout), or it is kept locally
    data_dir: Path = field(default_factory=paths.data_dir)
    model: str | None = None  # GGUF path or name; None = the default SmolLM2
    n_ctx: int | None = None  # None = sized to the model, within memory
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_tokens: int = 512
    top_k: int = 5
    search_mode: str = "hybrid"  # hybrid | vector | fts
    n_gpu_layers: int = 0  # layers of the local model offloaded to a GPU (-1 = all)
    llm_url: str | None = None  # an OpenAI-compatible server (http://host:port/v1) instead of the local model
    llm_model: str | None = None  # the server's model to use; None = its only one
    llm_api_key: str | None = field(default=None, repr=False)  # from RAGTUI_LLM_API_KEY only; never shown
    llm_api_key_file: Path | None = None  # or the key from this file
    llm_timeout: float = 120.0  # seconds the model server may stay silent before we give up
    theme: str = "textual-dark"

    def __repr__(self) -> str:  # a debug print or a crash report's locals show no password
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return mask(f"Settings({shown})")


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if value is None:
        return None
    try:
        if "Path" in str(kind):
            return Path(str(value)).expanduser()
        if "int" in str(kind):
            return int(value)
        if "float" in str(kind):
            return float(value)
    except (TypeError, ValueError):
        what = "a number" if "float" in str(kind) else "a whole number"
        raise ConfigError(f"setting {name!r}: expected {what}, got {value!r}") from None
    return str(value)


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib  # here, not at the top: most starts have no config file, and it costs ~2 ms

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    if "llm_api_key" in raw:  # a config file is often shared or committed: secrets go elsewhere
        raise ConfigError(f"config file {path}: put the API key in RAGTUI_LLM_API_KEY or in a file "
                          "named by llm_api_key_file, not in the config file")
    if "redis_password" in raw:
        raise ConfigError(f"config file {path}: put the Redis password in RAGTUI_REDIS_PASSWORD or in a file "
                          "named by redis_password_file, not in the config file")
    return raw


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found = {}
    for name in _FIELDS:
        key = f"RAGTUI_{name.upper()}"
        if key in env:
            found[name] = env[key]
    return found


def load_settings(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge every layer; flags whose value is None were not given and don't override."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    merged.update(_from_file(paths.config_file()))
    merged.update(_from_env(env))
    merged.update({k: v for k, v in (flags or {}).items() if v is not None and k in _FIELDS})
    settings = Settings(**{k: _coerce(k, v) for k, v in merged.items()})
    for secret in (settings.redis_password, settings.llm_api_key, url_password(settings.store),
                   url_password(settings.redis_url)):
        remember(secret)
    if not 0 <= settings.ttl <= MAX_TTL:
        raise ConfigError(f"setting 'ttl': must be 0 (never expire) or a number of seconds up to {MAX_TTL:,}")
    if not 0 < settings.redis_timeout <= 60:
        raise ConfigError("setting 'redis_timeout': must be a number of seconds above 0 and at most 60")
    if settings.redis_wait_replicas is not None and settings.redis_wait_replicas < 0:
        raise ConfigError("setting 'redis_wait_replicas': must be 0 (don't wait) or a number of replicas")
    if settings.redis_wait_timeout_ms is not None and not 0 < settings.redis_wait_timeout_ms < settings.redis_timeout * 1000:
        raise ConfigError("setting 'redis_wait_timeout_ms': must be above 0 and below redis_timeout "
                          f"({settings.redis_timeout * 1000:g} ms)")
    if settings.llm_timeout <= 0:
        raise ConfigError("setting 'llm_timeout': must be a number of seconds above 0")
    return settings


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as plain data, for `ragtui doctor --json` and the README; secrets only as set or not."""
    shown = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(settings).items()}
    shown["llm_api_key"] = "(set)" if settings.llm_api_key else None
    shown["redis_password"] = "(set)" if settings.redis_password else None
    password_given = bool(settings.redis_password or settings.redis_password_file)
    shown.update({k: shown_url(shown[k], password_given=password_given) for k in ("store", "redis_url") if shown[k]})
    shown["llm_url"] = shown["llm_url"] and mask(shown["llm_url"])
    return shown

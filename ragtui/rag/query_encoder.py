"""Embeddings through ONNX Runtime: the all-MiniLM-L6-v2 weights sentence-transformers loads,
without importing torch.

The ONNX graph (the transformer, mean pooling and normalisation) is exported once from the
shipped weights with torch.onnx into the cache dir; its vectors agree with
sentence-transformers' to a cosine of 0.9999 (tested). From it an int8 copy is made, also
once: weights quantized per output channel, activations per run (dynamic quantization). That
copy embeds queries and documents, one text per run, 2–4× faster than the float graph at
equal retrieval quality (bench/rag_ingest.py, bench/rag_quality.py).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

EXPORT_VERSION = 1  # bump when the exported graph changes: old files are then ignored


def runtime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def encoder_path(model_dir: Path, cache_dir: Path) -> Path:
    """Named after the weights it was exported from, so changed weights mean a new export."""
    weights = next((model_dir / name for name in ("model.safetensors", "pytorch_model.bin")
                    if (model_dir / name).is_file()), model_dir / "config.json")
    stat = weights.stat()
    fingerprint = hashlib.sha256(
        json.dumps([str(weights.resolve()), stat.st_size, stat.st_mtime_ns, EXPORT_VERSION]).encode()
    ).hexdigest()[:16]
    return cache_dir / f"all-MiniLM-L6-v2-query-{fingerprint}.onnx"


def export(transformer, path: Path) -> None:
    """Write `transformer` (a Hugging Face BERT) with mean pooling and normalisation as ONNX,
    atomically: a crash mid-export leaves no half file for the next process to trip on."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    example = torch.ones(1, 8, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's tracer warnings are about its internals
            torch.onnx.export(Pooled(transformer).eval(), (example, example), str(temporary), dynamo=False,
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes=axes, opset_version=17)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def quantized_path(float_path: Path, recipe: str) -> Path:
    """Named after the float graph it is made from and how it is quantized."""
    return float_path.with_name(f"{float_path.stem}-{recipe}.onnx")


def quantize(float_path: Path, path: Path) -> None:
    """Write the int8 copy of the float graph at `float_path`, atomically. Per-channel weight
    scales keep the vectors within a cosine of ~0.98 of the float ones; per-tensor ones lose
    far more (0.85)."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    prepared = path.with_name(f"{path.name}.{os.getpid()}.prepared.tmp")
    try:
        # Shapes inferred and the graph simplified first, as ONNX Runtime advises before quantizing
        # (its symbolic shape inference gives up on this graph; ONNX's own is enough).
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(temporary), per_channel=True, weight_type=QuantType.QInt8)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        prepared.unlink(missing_ok=True)


class OnnxEncoder:
    """Texts in, normalised float32 vectors out: one query, or many documents."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, *, max_tokens: int, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()  # the file pads every text to 128 tokens: 10× the work for a query
        self._tokenizer.enable_truncation(max_tokens)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3  # errors only: its notices are not for users
        self._session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.dimensions = self._session.get_outputs()[0].shape[1]

    def __call__(self, text: str):
        encoding = self._tokenizer.encode(text.strip())  # sentence-transformers strips too
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0][0]

    def encode(self, texts: Sequence[str], *, workers: int = 1):
        """float32 array, one row per text, each text run alone (so its vector does not depend
        on the others: see Embedder), longest first so that the `workers` threads running at
        once (ONNX Runtime releases the GIL) finish together."""
        encodings = self._tokenizer.encode_batch([text.strip() for text in texts])
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        vectors = np.empty((len(encodings), self.dimensions), dtype=np.float32)

        def run(i: int) -> None:
            ids = np.array([encodings[i].ids], dtype=np.int64)
            vectors[i] = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]

        if workers > 1 and len(order) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, order))
        else:
            for i in order:
                run(i)
        return vectors

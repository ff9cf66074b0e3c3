"""An S3 server embedded in the process: moto's ThreadedMotoServer, real HTTP on loopback.

moto keeps its state in process-wide globals, so every EmbeddedS3 in one process serves the
same buckets. With ``state_dir`` the S3 state is pickled there on ``stop()`` and loaded on
``start()`` (a local development convenience: the file is trusted, like the SQLite database
next to it).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pickle
import signal
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from meet_core.archive.client import (
    EMBEDDED_ACCESS_KEY_ID,
    EMBEDDED_REGION,
    EMBEDDED_SECRET_ACCESS_KEY,
    S3Client,
    bucket_has_object_lock,
    ensure_bucket,
    s3_client,
)

__all__ = ["EmbeddedS3", "bucket_has_object_lock", "ensure_bucket", "s3_client", "main"]

_SNAPSHOT_NAME = "s3-state.pickle"


def _s3_backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


class EmbeddedS3:
    """``with EmbeddedS3() as s3: client = s3.client()`` - a moto S3 server on a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("EmbeddedS3 is not started")
        return self._endpoint_url

    def start(self) -> EmbeddedS3:
        if self._server is not None:
            return self
        # werkzeug logs one line per request at INFO; keep a busy archive run readable.
        werkzeug_log = logging.getLogger("werkzeug")
        if werkzeug_log.level == logging.NOTSET:
            werkzeug_log.setLevel(logging.WARNING)
        self._load_snapshot()
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None
        self._save_snapshot()

    def client(self, **kwargs: Any) -> S3Client:
        """A client for this server with the embedded credentials."""
        return s3_client(
            self.endpoint_url,
            access_key_id=EMBEDDED_ACCESS_KEY_ID,
            secret_access_key=EMBEDDED_SECRET_ACCESS_KEY,
            region_name=EMBEDDED_REGION,
            **kwargs,
        )

    def __enter__(self) -> EmbeddedS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _snapshot_path(self) -> Path | None:
        return self.state_dir / _SNAPSHOT_NAME if self.state_dir is not None else None

    def _load_snapshot(self) -> None:
        path = self._snapshot_path()
        if path is None or not path.exists():
            return
        from moto.s3.models import s3_backends

        with path.open("rb") as handle:
            state = pickle.load(handle)  # noqa: S301 - our own local state file
        backend = _s3_backend()
        backend.buckets.update(state["buckets"])
        for name in state["buckets"]:
            s3_backends.bucket_accounts[name] = (backend.partition, DEFAULT_ACCOUNT_ID)

    def _save_snapshot(self) -> None:
        path = self._snapshot_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump({"buckets": _s3_backend().buckets}, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)  # atomic: a crash mid-write keeps the previous snapshot


def main(argv: list[str] | None = None) -> None:
    """``python -m meet_sandbox.s3``: serve, print the endpoint URL, run until
    SIGINT/SIGTERM (used by benchmarks and tests that need the server in another process)."""
    parser = argparse.ArgumentParser(description="Embedded S3 server (moto)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--bucket", action="append", default=[], help="create this locked bucket")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedS3(args.host, args.port, args.state_dir) as server:
        for bucket in args.bucket:
            ensure_bucket(server.client(), bucket)
        print(server.endpoint_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()

"""A real S3 server on 127.0.0.1 (moto's server mode, started by the tests) behind a
counting proxy that can also answer 500s, answer slowly or stall, as real stores do."""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import obstore
import pytest
from obstore.store import S3Store

from syndicator.config import Config, load_config

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Faults:
    """What the proxy does to the requests that write (PUT, DELETE)."""

    fail_share: float = 0.0  # answered 500 without reaching the server
    slow_share: float = 0.0  # answered after `slow_seconds`
    slow_seconds: float = 0.0
    fail_paths: str | None = None  # every PUT whose path holds this fails (500)
    stall_after: int | None = None  # after this many PUTs, every request hangs
    rng: random.Random = field(default_factory=lambda: random.Random(7))


class S3Server:
    """moto on one port, the counting proxy on another; `url` is the proxy's."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.counts: Counter[str] = Counter()
        self.writes: list[str] = []  # "PUT /bucket/key", in the order they came
        self.faults = Faults()
        self.stalled = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._names = 0
        server = self

        class Proxy(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                server._forward(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        self._proxy.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._proxy.server_address[1]}"
        threading.Thread(target=self._proxy.serve_forever, daemon=True).start()

    def bucket(self) -> str:
        """A fresh, empty bucket's name."""
        with self._lock:
            self._names += 1
            name = f"test-bucket-{self._names}"
        self._request("PUT", f"/{name}")
        return name

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.writes.clear()
            self.faults = Faults()
            self.released.set()
            self.stalled.clear()
            self.released.clear()

    def _request(self, method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=30)
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        assert answer.status < 300, (method, path, answer.status, data[:300])
        return data

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, target = handler.command, handler.path
        # obstore deletes with DeleteObjects (POST ?delete): one key a request, as we ask
        kind = "DELETE" if method == "POST" and "?delete" in target else method
        fail = slow = False
        with self._lock:
            faults = self.faults
            if kind in {"PUT", "DELETE"}:
                self.counts[kind] += 1
                self.writes.append(f"{kind} {target}")
                fail = faults.rng.random() < faults.fail_share
                slow = faults.rng.random() < faults.slow_share
                if method == "PUT" and faults.fail_paths and faults.fail_paths in target:
                    fail = True
                if faults.stall_after is not None and self.counts["PUT"] > faults.stall_after:
                    self.stalled.set()
            else:
                self.counts["LIST" if "list-type" in target else method] += 1
        if self.stalled.is_set():  # the publish is killed meanwhile; then it is refused
            self.released.wait(120)
            fail = True
        if slow:
            time.sleep(faults.slow_seconds)
        if fail:
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        headers["Host"] = f"127.0.0.1:{self.upstream}"
        conn.request(method, target, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in {
                "content-length",
                "transfer-encoding",
                "connection",
                "server",
                "date",
            }:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def close(self) -> None:
        self._proxy.shutdown()
        self._proxy.server_close()


@contextlib.contextmanager
def running_s3() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, behind the counting proxy, until the block ends."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        server = S3Server(port)
        yield server
        server.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # holding an hour's objects, it may exit slowly
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, behind the counting proxy."""
    with running_s3() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """The server with counts and faults reset, and credentials in the environment."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    s3_server.reset()
    yield s3_server
    s3_server.reset()


def to_bucket(config: Config, server: S3Server, bucket: str, extra: str = "") -> Config:
    """`config` publishing to `bucket` through the proxy, served at a CDN's address."""
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(
        f'{text}\n[publish]\ntarget = "s3://{bucket}/site"\nendpoint_url = "{server.url}"\n'
        f'region = "us-east-1"\npublic_url = "https://cdn.example.org/news/"\n{extra}',
        encoding="utf-8",
    )
    return load_config(config.path)


def reader(server: S3Server, bucket: str) -> S3Store:
    """A client straight to the server (not counted), under the target's prefix."""
    return S3Store(
        bucket,
        prefix="site",
        config={
            "endpoint": f"http://127.0.0.1:{server.upstream}",
            "region": "us-east-1",
            "access_key_id": "testing",
            "secret_access_key": "testing",
        },
        client_options={"allow_http": True},
    )


def contents(server: S3Server, bucket: str) -> dict[str, bytes]:
    """Every object under the prefix: path → bytes."""
    store = reader(server, bucket)
    paths = [meta["path"] for chunk in obstore.list(store, chunk_size=1000) for meta in chunk]
    return {path: bytes(obstore.get(store, path).bytes()) for path in paths}

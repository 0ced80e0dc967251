"""Fetch a feed over HTTP(S) or from a local `file:` URL, politely and within hard limits.

One shared `httpx2` client per `Fetcher`. Conditional GET with the stored ETag and
Last-Modified; redirects followed by hand (at most `max_redirects`, loops detected,
permanent ones reported so the stored URL can move); connect and read timeouts *and* a
total deadline enforced on every socket operation, so a server trickling a byte at a time
cannot hold us; the body streamed with a cap on decompressed bytes, so a gzip bomb stops
early. Nothing here sleeps: 429/503 become a `FetchError` carrying Retry-After.
"""

from __future__ import annotations

import contextvars
import email.utils
import time
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpcore2
import httpx2

from . import __version__
from .config import FetchSettings
from .errors import FetchError, SourceGone
from .files import read_regular
from .models import FetchResult

MAX_RETRY_AFTER_SECONDS = 366 * 24 * 3600  # beyond this a number is nonsense (and overflows)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
# Content types that can never be a feed: refuse them before reading the body.
NOT_FEED_TYPES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip")
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)

# Monotonic time by which the fetch in progress (in this thread) must be over.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


class _DeadlineExceeded(httpcore2.ReadTimeout):
    """Raised inside the transport when the total deadline has passed."""


def _clamp(timeout: float | None) -> float | None:
    """Shorten a per-operation timeout so that no socket wait outlives the total deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _DeadlineExceeded("total deadline exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        if "timeout" in kwargs:
            kwargs["timeout"] = _clamp(kwargs["timeout"])
        return _DeadlineStream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """Wraps every connection so each read, write and connect respects `_deadline`."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _clamp(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport() -> httpx2.HTTPTransport:
    transport = httpx2.HTTPTransport(retries=0)
    # httpx2 does not expose the network backend; its pool keeps it in this attribute.
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


def user_agent(contact_url: str) -> str:
    return f"Syndicator/{__version__} (+{contact_url}; feed syndication for ministry websites)"


class Fetcher:
    """Fetches feeds with one shared HTTP client. Use as a context manager, or `close()`.

    `transport` is the test seam: pass an `httpx2.MockTransport` to fake a server.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        contact_url: str,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._client = httpx2.Client(
            transport=transport or _deadline_transport(),
            follow_redirects=False,
            timeout=httpx2.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            headers={
                "User-Agent": user_agent(contact_url),
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self,
        source_id: str,
        url: str,
        *,
        now: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Fetch `url`; return the body, or a not-modified result. Raises `FetchError`."""
        if urlsplit(url).scheme == "file":
            return _fetch_file(source_id, url, etag, self.settings.max_bytes)
        started = time.monotonic()
        deadline = started + self.settings.deadline_seconds
        token = _deadline.set(deadline)
        try:
            return self._fetch_http(source_id, url, now, etag, last_modified, deadline)
        except httpx2.TimeoutException as exc:
            if isinstance(exc.__cause__, _DeadlineExceeded) or time.monotonic() >= deadline:
                reason = f"gave up after the {self.settings.deadline_seconds:g} s total deadline"
            else:
                reason = f"timed out ({type(exc).__name__})"
            raise FetchError(source_id, url, reason) from exc
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise FetchError(source_id, url, f"network error: {exc or type(exc).__name__}") from exc
        finally:
            _deadline.reset(token)

    def _fetch_http(
        self,
        source_id: str,
        url: str,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        deadline: float,
    ) -> FetchResult:
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        visited = [url]
        permanent = True
        current = url
        for _ in range(self.settings.max_redirects + 1):
            with self._client.stream("GET", current, headers=conditional) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    target = _redirect_target(source_id, current, response)
                    permanent = permanent and status in PERMANENT_REDIRECTS
                    if target in visited:
                        loop = " → ".join([*visited[visited.index(target) :], target])
                        raise FetchError(source_id, url, f"redirect loop: {loop}", status=status)
                    visited.append(target)
                    current = target
                    continue
                headers = MappingProxyType({k.lower(): v for k, v in response.headers.items()})
                # A permanent move is remembered, but never one from https down to http.
                downgrade = url.startswith("https:") and current.startswith("http:")
                moved_to = current if permanent and current != url and not downgrade else None
                body = None
                if status != 304:  # 304: not modified, the stored validators stay valid
                    _raise_for_status(source_id, url, response, now)
                    body = _read_body(source_id, url, response, self.settings.max_bytes, deadline)
                    etag = last_modified = None
                return FetchResult(
                    source_id, url, current, status, body, headers,
                    etag=headers.get("etag", etag),
                    last_modified=headers.get("last-modified", last_modified),
                    moved_to=moved_to,
                )  # fmt: skip
        raise FetchError(
            source_id, url, f"too many redirects (more than {self.settings.max_redirects})"
        )


def _redirect_target(source_id: str, current: str, response: httpx2.Response) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchError(
            source_id, current, f"HTTP {response.status_code} without a Location header"
        )
    try:
        target = str(response.url.join(location))
    except (httpx2.InvalidURL, ValueError) as exc:
        raise FetchError(source_id, current, f"invalid redirect Location {location!r}") from exc
    if urlsplit(target).scheme not in {"http", "https"}:
        raise FetchError(source_id, current, f"refusing to follow a redirect to {target!r}")
    return target


def _raise_for_status(source_id: str, url: str, response: httpx2.Response, now: datetime) -> None:
    status = response.status_code
    if 200 <= status < 300:
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith(NOT_FEED_TYPES):
            raise FetchError(
                source_id, url, f"not a feed: the server sent {content_type!r}", status=status
            )
        return
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 410:
        raise SourceGone(
            source_id,
            url,
            f"{reason}: the feed was removed upstream; source disabled",
            status=status,
        )
    if status in {429, 503}:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        if retry_after is not None:
            reason += f"; server asked to retry after {retry_after:%Y-%m-%d %H:%M:%S} UTC"
        raise FetchError(source_id, url, reason, status=status, retry_after=retry_after)
    raise FetchError(source_id, url, reason, status=status)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Read a Retry-After header: delay in seconds or an HTTP-date. None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return now + timedelta(seconds=min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _read_body(
    source_id: str, url: str, response: httpx2.Response, max_bytes: int, deadline: float
) -> bytes:
    """Stream the body, decompressing by hand so that no step can exceed `max_bytes`."""
    too_large = f"body larger than the {max_bytes:,}-byte limit"
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if declared.isdigit() and int(declared) > max_bytes and encoding == "identity":
        raise FetchError(source_id, url, f"{too_large} (Content-Length {int(declared):,})")
    decode = _Decoder(encoding, source_id, url)
    out = bytearray()
    for raw in response.iter_raw(64 * 1024):
        if time.monotonic() > deadline:
            raise FetchError(source_id, url, "gave up: the total deadline passed mid-body")
        out += decode(raw, max_bytes - len(out) + 1)
        if len(out) > max_bytes:
            raise FetchError(source_id, url, too_large + " (after decompression)")
    out += decode.finish()
    if len(out) > max_bytes:
        raise FetchError(source_id, url, too_large + " (after decompression)")
    return bytes(out)


class _Decoder:
    """Content-Encoding decoder whose output per call is capped (zlib's max_length)."""

    def __init__(self, encoding: str, source_id: str, url: str) -> None:
        self.encoding = encoding
        self.where = (source_id, url)
        self._zlib: Any = None
        if encoding in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding not in {"identity", "deflate", ""}:
            raise FetchError(*self.where, f"unsupported Content-Encoding {encoding!r}")

    def __call__(self, data: bytes, limit: int) -> bytes:
        if self.encoding in {"identity", ""}:
            return data
        if self._zlib is None:  # deflate: zlib-wrapped per the RFC, raw in practice too
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            return bytes(self._zlib.decompress(data, max(limit, 1)))
        except zlib.error as exc:
            raise FetchError(*self.where, f"corrupt {self.encoding} body: {exc}") from exc

    def finish(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            return bytes(self._zlib.flush())
        except zlib.error as exc:
            raise FetchError(*self.where, f"corrupt {self.encoding} body: {exc}") from exc


def _fetch_file(source_id: str, url: str, etag: str | None, max_bytes: int) -> FetchResult:
    """Read a local feed; its mtime and size act as an ETag so an unchanged file costs nothing."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        stat = path.stat()
        tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if etag == tag:
            return FetchResult(source_id, url, url, 304, None, etag=tag)
        body = read_regular(path, max_bytes)
    except FileNotFoundError:
        raise FetchError(source_id, url, f"file not found: {path}") from None
    except OSError as exc:
        raise FetchError(source_id, url, f"cannot read {path}: {exc.strerror}") from None
    return FetchResult(source_id, url, url, 200, body, _XML_HEADERS, etag=tag)


_XML_HEADERS: Mapping[str, str] = MappingProxyType({"content-type": "application/xml"})

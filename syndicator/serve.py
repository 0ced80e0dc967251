"""Serve `output_dir` over HTTP: `syndicator serve`, for previews and small sites.

Production serving is nginx or a CDN (`scripts/deploy/nginx-syndicator.conf` sends the same
headers); this server lets an admin look at the real output, with the real headers, in one
command. Standard library only: `ThreadingHTTPServer` and one request handler.

What it answers
- GET and HEAD. OPTIONS only as the CORS preflight of `feed.json` and `embed.js`. Other
  known methods get 405 with `Allow`; unknown ones 501.
- Only regular files strictly inside the root. Each path segment is percent-decoded once;
  a segment that is empty, starts with `.` (dotfiles, and the publisher's `.tmp-` files),
  or holds `/`, `\\` or NUL once decoded is refused. The path is then resolved, symlinks
  followed, and must still lie inside the root with no hidden part. Refusals answer 404,
  like anything missing, so probing learns nothing; a target that is not a path is 400.
- A folder answers with its `index.html`, or 404 (never a listing); asked for without its
  trailing slash it redirects (301) to the slash form.
- A request is read only when its end is beyond doubt, so that a proxy in front cannot
  find it elsewhere and have what follows answered as a request of its own (a desync).
  It is answered 400 and its connection closed when it has more than one
  Content-Length, one that is not all digits, both Content-Length and
  Transfer-Encoding, a Transfer-Encoding on HTTP/1.0 or not ending in `chunked`, a
  folded header line (obs-fold), a CR or NUL inside a line, or a header line that is not
  `name: value`. A request line over `MAX_REQUEST_LINE` bytes answers 414; headers over
  `MAX_HEADER_BYTES` in all (or over 100 lines) answer 431.

Headers
- Content-Type and Cache-Control as `headers` says (one owner: the bucket's objects
  carry the same).
- ETag is strong and built from the file's inode, mtime_ns and size, as nginx and Apache
  do, rather than from a hash of the bytes: it costs one fstat, and it is exact here
  because the publisher rewrites a file only when its bytes change, and then by renaming
  a new file over it (a new inode and mtime). The gzip representation's tag ends in
  `-gzip`, so no cache hands one representation's validator to the other.
- Last-Modified. If-None-Match (it takes precedence: lists, `*`, weak comparison as in
  RFC 9110) or else If-Modified-Since answer 304 without a body.
- gzip for textual types of at least `GZIP_MIN_BYTES` when Accept-Encoding allows it
  (`q=0` refuses it), with `Vary: Accept-Encoding`. Compressed bytes are kept in memory,
  keyed by file version and bounded in size, so a busy feed is compressed once per version.
- `Access-Control-Allow-Origin: *` on `feed.json` and `embed.js`, which other sites load
  from scripts; never on HTML. `X-Content-Type-Options: nosniff` and
  `Referrer-Policy: strict-origin-when-cross-origin` on every response.

One log line per request goes to the `syndicator.serve` logger at INFO, so the server is
quiet at the CLI's default level and talks with `-v`.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import logging
import os
import re
import shutil
import socket
import stat
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from . import __version__
from .errors import DoubtfulRequest, ServeError
from .headers import UTF8, cache_control, content_type, is_cors

logger = logging.getLogger(__name__)

GZIP_MIN_BYTES = 1024  # below this, gzip saves less than its own overhead is worth
GZIP_CACHE_BYTES = 32 * 1024 * 1024
MAX_REQUEST_LINE = 8 * 1024  # nginx's default; our paths are under 200 bytes
MAX_HEADER_BYTES = 64 * 1024

_CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag"),  # Last-Modified is exposed already
)
_ETAG = re.compile(r'(?:W/)?"([^"]*)"')
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field names
_DIGITS = re.compile(rb"[0-9]+")


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server for the files under `root`, bound to `host`:`port` and ready to serve.

    Port 0 picks a free port; the bound one is `server.server_port`. Call
    `serve_forever()` to answer requests and `shutdown()` from another thread to stop.
    Raises `ServeError` when `root` is not a folder or the address cannot be bound.
    """
    try:
        folder = root.resolve(strict=True)
    except OSError as exc:
        raise ServeError(f"{root}: no such folder (has `syndicator run` published?)") from exc
    if not folder.is_dir():
        raise ServeError(f"{root}: not a folder")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return _OutputServer((host, port), folder, family)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


class _OutputServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], root: Path, family: socket.AddressFamily) -> None:
        self.address_family = family  # read by the base class when it makes the socket
        self.root = root
        self.gzip_cache = _GzipCache(GZIP_CACHE_BYTES)
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The base class prints a traceback to stderr; a client hanging up is routine.
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("%s: connection lost", client_address[0])
        else:
            logger.exception("%s: error while answering", client_address[0])


class _GzipCache:
    """Compressed bytes per file version, least recently used out first, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._size = 0
        self._entries: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, int], read: Callable[[], bytes]) -> bytes:
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
                return data
        # Compressed outside the lock: two threads may both compress a new version, and
        # the first to finish keeps its copy.
        data = gzip.compress(read(), compresslevel=6, mtime=0)
        with self._lock:
            if key not in self._entries and len(data) <= self._max_bytes:
                self._entries[key] = data
                self._size += len(data)
                while self._size > self._max_bytes:
                    _, evicted = self._entries.popitem(last=False)
                    self._size -= len(evicted)
        return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response states its length
    server_version = f"syndicator/{__version__}"
    sys_version = ""
    timeout = 15  # an idle keep-alive connection gives its thread back after this
    raw_requestline: bytes  # set by the base class (typeshed does not declare it)
    _closing = False  # a body never read, or a refusal: the connection closes after the answer

    @property
    def _server(self) -> _OutputServer:
        return cast(_OutputServer, self.server)

    def parse_request(self) -> bool:
        """The request line and headers, as the standard library reads them, and the
        lines as sent checked for a doubtful end (the parsed headers hide folds, bare CRs
        and lines without a colon). A request with a body closes its connection after
        the answer. No method here reads a body, and one left unread would be taken for
        the next request on the connection: behind a proxy that reuses connections, a
        visitor could be sent another file's bytes."""
        recorder = _HeaderRecorder(self.rfile)
        self.rfile = cast(BufferedIOBase, recorder)
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = recorder.rfile
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self._refuse(HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long")
            return False
        try:
            has_body = _has_body(self.raw_requestline, recorder.lines, self.request_version)
        except DoubtfulRequest as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, str(exc))
            return False
        if has_body:
            self._closing = True
            self.close_connection = True
        self.path = _origin_form(self.path)
        return True

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        """Answer `status` saying `reason`, and close: where this request ends is unknown."""
        self._closing = True
        self.close_connection = True
        body = f"{status.value} {status.phrase}: {reason}\n".encode()
        self.send_response(status)
        self._send_headers(
            [("Content-Type", "text/plain" + UTF8), ("Content-Length", str(len(body)))], body
        )

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_OPTIONS(self) -> None:
        found = self._find()
        if found is None:
            return
        _, relative = found
        if not is_cors(relative):
            self._refuse_method(relative)
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self._send_headers(
            [
                ("Allow", _allow(relative)),
                *_CORS_HEADERS,
                ("Access-Control-Allow-Methods", "GET, HEAD"),
                ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
                ("Access-Control-Max-Age", "86400"),
            ]
        )

    def _not_allowed(self) -> None:
        path = self.path.partition("?")[0]
        self._refuse_method(path.rsplit("/", 1)[-1])

    do_POST = do_PUT = do_DELETE = do_PATCH = do_TRACE = do_CONNECT = _not_allowed

    def _serve(self, *, head: bool) -> None:
        found = self._find()
        if found is None:
            return
        path, relative = found
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # gone since it was found, or swapped for a symlink
            self._error(HTTPStatus.NOT_FOUND)
            return
        with os.fdopen(fd, "rb") as file:
            # Everything below describes this open file, even if a new version replaces it.
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._error(HTTPStatus.NOT_FOUND)
                return
            media = content_type(path.name)
            compressible = _compressible(media) and info.st_size >= GZIP_MIN_BYTES
            use_gzip = compressible and _accepts_gzip(self.headers.get("Accept-Encoding"))
            tag = f"{info.st_ino:x}-{info.st_mtime_ns:x}-{info.st_size:x}"
            etag = f'"{tag}-gzip"' if use_gzip else f'"{tag}"'
            headers = [
                ("ETag", etag),
                ("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True)),
                ("Cache-Control", cache_control(relative)),
            ]
            if compressible:
                headers.append(("Vary", "Accept-Encoding"))
            if is_cors(relative):
                headers.extend(_CORS_HEADERS)
            if _not_modified(self.headers, etag, int(info.st_mtime)):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self._send_headers(headers)
                return
            body: bytes | None = None
            if use_gzip:
                key = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
                body = self._server.gzip_cache.get(key, file.read)
                headers.append(("Content-Encoding", "gzip"))
            length = info.st_size if body is None else len(body)
            self.send_response(HTTPStatus.OK)
            self._send_headers([("Content-Type", media), ("Content-Length", str(length)), *headers])
            if head:
                return
            if body is None:
                shutil.copyfileobj(file, self.wfile)
            else:
                self.wfile.write(body)

    def _find(self) -> tuple[Path, str] | None:
        """The file the request names and its root-relative POSIX path; None once a
        refusal or redirect has been sent instead."""
        path, mark, query = self.path.partition("?")
        if not path.startswith("/"):
            self._error(HTTPStatus.BAD_REQUEST)
            return None
        segments = _segments(path)
        root = self._server.root
        found = None if segments is None else _inside(root, segments)
        if segments is None or found is None:
            self._error(HTTPStatus.NOT_FOUND)
            return None
        folder = found.is_dir()
        if folder and segments[-1]:
            self._redirect(f"{path}/{mark}{query}")
            return None
        if folder:
            found = _inside(root, [*segments[:-1], "index.html"])
        elif not segments[-1]:  # a file asked for as a folder
            found = None
        if found is None or not found.is_file():
            self._error(HTTPStatus.NOT_FOUND)
            return None
        return found, found.relative_to(root).as_posix()

    def _redirect(self, location: str) -> None:
        body = f"Moved to {location}\n".encode()
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self._send_headers(
            [
                ("Location", location),
                ("Content-Type", "text/plain" + UTF8),
                ("Content-Length", str(len(body))),
            ],
            body,
        )

    def _refuse_method(self, name: str) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", _allow(name))])

    def _error(self, status: HTTPStatus, headers: Iterable[tuple[str, str]] = ()) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self._send_headers(
            [
                ("Content-Type", "text/plain" + UTF8),
                ("Content-Length", str(len(body))),
                *headers,
            ],
            body,
        )

    def _send_headers(self, headers: Iterable[tuple[str, str]], body: bytes = b"") -> None:
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self) -> None:
        # Here, so that the stdlib's own errors (bad request line, 501) carry them too.
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        if self._closing and not self._closing_said():
            self.send_header("Connection", "close")  # for a proxy: this one is done
        super().end_headers()

    def _closing_said(self) -> bool:
        """Whether the headers so far say `Connection: close` (the stdlib's errors do)."""
        sent = b"".join(getattr(self, "_headers_buffer", [])).lower()
        return b"\r\nconnection: close" in sent

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def log_error(self, format: str, *args: Any) -> None:
        # The stdlib logs its errors, then the request line; the request line is enough.
        logger.debug("%s %s", self.address_string(), format % args)


class _HeaderRecorder:
    """Stands in for `rfile` while the standard library reads the header lines: keeps
    them as sent, and stops reading past `MAX_HEADER_BYTES` (the library answers 431)."""

    def __init__(self, rfile: BufferedIOBase) -> None:
        self.rfile = rfile
        self.lines: list[bytes] = []
        self._size = 0

    def readline(self, limit: int = -1) -> bytes:
        line = self.rfile.readline(limit)
        self._size += len(line)
        if self._size > MAX_HEADER_BYTES:
            raise http.client.HTTPException(f"headers over {MAX_HEADER_BYTES} bytes")
        self.lines.append(line)
        return line


def _has_body(request_line: bytes, header_lines: list[bytes], version: str) -> bool:
    """Whether the request announces a body (which is never read). Raises `DoubtfulRequest`
    when a proxy could take its end to be elsewhere (RFC 9112 §2.2, §5, §6)."""
    lengths: list[bytes] = []
    codings: list[bytes] = []
    for number, raw in enumerate([request_line, *header_lines]):
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        if not line:
            continue  # the blank line that ends the headers
        if b"\r" in line:
            raise DoubtfulRequest("a CR inside a line")
        if b"\0" in line:
            raise DoubtfulRequest("a NUL inside a line")
        if number == 0:
            continue
        if line[:1] in (b" ", b"\t"):
            raise DoubtfulRequest("a folded header line (obs-fold)")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise DoubtfulRequest(f"a malformed header line: {line[:40]!r}")
        name = name.lower()
        if name == b"content-length":
            lengths.append(value.strip(b" \t"))
        elif name == b"transfer-encoding":
            codings.extend(c.strip(b" \t").lower() for c in value.split(b","))
    if len(lengths) > 1:
        raise DoubtfulRequest("more than one Content-Length")
    if lengths and not _DIGITS.fullmatch(lengths[0]):
        raise DoubtfulRequest(f"Content-Length is not a number: {lengths[0][:20]!r}")
    if lengths and codings:
        raise DoubtfulRequest("both Content-Length and Transfer-Encoding")
    if codings and (version != "HTTP/1.1" or codings[-1] != b"chunked"):
        raise DoubtfulRequest("a Transfer-Encoding other than chunked on HTTP/1.1")
    return bool(codings) or (bool(lengths) and int(lengths[0]) > 0)


def _origin_form(target: str) -> str:
    """`target` with an http(s) scheme and authority taken off (RFC 9112 3.2.2: a server
    must accept the absolute form some proxies send); any other target as it was."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in scheme:
        return target
    authority_end = min((i for i in map(rest.find, "/?") if i >= 0), default=len(rest))
    path = rest[authority_end:]
    return path if path.startswith("/") else "/" + path


def _segments(path: str) -> list[str] | None:
    """The decoded segments of a request path (a trailing slash leaves a last empty one),
    or None when a segment may not be served."""
    try:
        segments = [unquote(part, errors="strict") for part in path[1:].split("/")]
    except UnicodeDecodeError:
        return None
    *inner, last = segments
    if not all(map(_plain_name, inner)) or (last and not _plain_name(last)):
        return None
    return segments


def _plain_name(segment: str) -> bool:
    """A file or folder name that may be served: not empty, not hidden, no separator or NUL."""
    return bool(segment) and not segment.startswith(".") and not any(c in segment for c in "/\\\0")


def _inside(root: Path, segments: list[str]) -> Path | None:
    """`root` joined with `segments`, symlinks resolved; None unless it exists inside `root`
    with no hidden part."""
    try:
        path = root.joinpath(*segments).resolve(strict=True)
        relative = path.relative_to(root)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, or outside root
        return None
    if any(part.startswith(".") for part in relative.parts):
        return None
    return path


def _compressible(content_type: str) -> bool:
    media = content_type.partition(";")[0]
    return media.startswith("text/") or media.endswith(("json", "xml"))


def _allow(name: str) -> str:
    return "GET, HEAD, OPTIONS" if is_cors(name) else "GET, HEAD"


def _accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip: named (or `*`) with a q above 0."""
    named: float | None = None
    wildcard: float | None = None
    for item in (header or "").split(","):
        coding, *params = (piece.strip().lower() for piece in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding in {"gzip", "x-gzip"}:
            named = quality if named is None else max(named, quality)
        elif coding == "*":
            wildcard = quality
    if named is not None:
        return named > 0
    return wildcard is not None and wildcard > 0


def _not_modified(headers: Message, etag: str, mtime: int) -> bool:
    """RFC 9110 §13.2.2 for GET/HEAD: If-None-Match, when present, decides alone."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        opaque = etag.removeprefix("W/")[1:-1]
        return any(match[1] == opaque for match in _ETAG.finditer(if_none_match))
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # not an HTTP-date: ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return mtime <= since.timestamp()

"""Publishing to an S3-compatible bucket: a `Target` that uploads only what changed.

What the bucket holds is known from a manifest in the state database (path → MD5, size,
the ETag the store answered, headers), written only for uploads the store confirmed and
deletions it acknowledged: a cycle with no change makes no request that writes, and one
new article makes one PUT per changed file. An ETag is compared as the store gave it,
never as an MD5 (a multipart or KMS-encrypted object's is not one), and no object is
asked about one by one (`verify` lists the bucket instead: 1,000 keys a request).

`commit` carries out what was staged in phases, each a bounded pool of concurrent
requests (the client retries 5xx answers and dropped connections with backoff): article
pages, then the lists, feeds, widgets and embeds that link to them, then the site's
`index.html` and OPML, then deletions. A phase with a failed upload stops the commit
before the next: the lists never point at a page that is not there, and what was
confirmed is recorded, so the next cycle finishes the job. The whole prefix is
Syndicator's: no folder is anyone else's, and no mark file is written.
"""

from __future__ import annotations

import configparser
import hashlib
import logging
import os
import posixpath
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import obstore
from obstore.exceptions import BaseError as StoreFailure
from obstore.store import S3Store

from ..config import Config, PublishConfig
from ..errors import PublishError
from ..headers import cache_control, content_type
from ..models import PublishReport, StoredObject
from ..store import Store

if TYPE_CHECKING:
    from obstore.store import RetryConfig, S3Config

log = logging.getLogger(__name__)

WORKERS = 16  # concurrent requests a phase makes
RETRY: RetryConfig = {
    "max_retries": 5,
    "backoff": {"init_backoff": timedelta(milliseconds=200), "max_backoff": timedelta(seconds=5)},
    "retry_timeout": timedelta(seconds=60),
}
PURGE_TRIES = 3
PROBE_PREFIX = ".syndicator-probe-"
# The bucket's CORS rule: feed.json and embed.js are loaded by other sites' scripts.
CORS_RULE = """[
  {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 86400
  }
]"""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Keys for the bucket, and where they were found (said by `check`)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    found: str


def find_credentials(environ: Mapping[str, str], home: Path) -> Credentials:
    """The bucket's credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with
    AWS_SESSION_TOKEN) from the environment, else AWS_PROFILE's section (`default`) of
    the shared credentials file; PublishError saying where it looked when neither has them."""
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        found = "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        return Credentials(key, secret, environ.get("AWS_SESSION_TOKEN") or None, found)
    profile = environ.get("AWS_PROFILE") or "default"
    file = Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    parser = configparser.RawConfigParser()
    try:
        parser.read(file, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise PublishError(f"{file}: cannot read the credentials file: {exc}") from None
    if parser.has_option(profile, "aws_access_key_id") and parser.has_option(
        profile, "aws_secret_access_key"
    ):
        return Credentials(
            parser.get(profile, "aws_access_key_id"),
            parser.get(profile, "aws_secret_access_key"),
            parser.get(profile, "aws_session_token", fallback=None),
            f"profile {profile} in {file}",
        )
    raise PublishError(
        "no credentials for the bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        f"in the environment, or AWS_PROFILE naming a section of {file} (looked for "
        f"profile {profile} there)"
    )


def open_bucket(publish: PublishConfig, credentials: Credentials) -> S3Store:
    """A client for `publish.target`, its paths relative to the target's prefix."""
    if publish.bucket is None:
        raise PublishError("[publish] target names no bucket")
    region = publish.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    endpoint = publish.endpoint_url
    config: S3Config = {
        "region": region or "us-east-1",
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
    }
    if credentials.session_token:
        config["session_token"] = credentials.session_token
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    return S3Store(
        publish.bucket,
        prefix=publish.prefix.rstrip("/") or None,
        config=config,
        client_options={
            "allow_http": bool(endpoint and endpoint.startswith("http:")),
            "connect_timeout": timedelta(seconds=10),
            "timeout": timedelta(seconds=60),
        },
        retry_config=RETRY,
    )


def describe(path: str, data: bytes) -> StoredObject:
    """How `data` is stored at `path` (its ETag unknown until the store answers)."""
    return StoredObject(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        size=len(data),
        etag="",
        content_type=content_type(posixpath.basename(path)),
        cache_control=cache_control(path, cdn=True),
    )


def phase(path: str) -> int:
    """When `path` is uploaded within a commit: article pages (0) before the subscriber
    files that link to them (1), before the site's own files that list them (2)."""
    parts = path.split("/")
    if len(parts) == 1:
        return 2
    return 0 if len(parts) == 3 and parts[1] == "articles" else 1


def _same(have: StoredObject | None, want: StoredObject) -> bool:
    return have is not None and replace(have, etag="") == want


@dataclass(frozen=True, slots=True)
class _Upload:
    path: str
    data: bytes
    stored: StoredObject


class Purger:
    """The CDN purge hook: POSTs `{"files": [URL, …]}` in batches, retrying; a failure
    is logged and never fails the cycle (the CDN's own expiry catches up)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        batch: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self.batch, self._sleep = url, batch, sleep
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.sent = 0  # URLs a purge accepted
        self.failed = 0  # URLs no try got accepted

    def purge(self, urls: Iterable[str]) -> None:
        """Purge `urls`; after a batch no try got accepted, the rest are not tried (the
        hook is down: the cycle is not held up by it)."""
        listed = sorted(set(urls))
        with httpx2.Client(timeout=20) as client:
            for start in range(0, len(listed), self.batch):
                if not self._post(client, listed[start : start + self.batch]):
                    left = len(listed) - start - self.batch
                    if left > 0:
                        self.failed += left
                        log.warning("CDN purge: %d more URL(s) not sent", left)
                    return

    def _post(self, client: httpx2.Client, urls: list[str]) -> bool:
        error = ""
        for attempt in range(PURGE_TRIES):
            if attempt:
                self._sleep(0.5 * 2**attempt)
            try:
                answer = client.post(self.url, json={"files": urls}, headers=self._headers)
            except httpx2.HTTPError as exc:
                error = str(exc) or type(exc).__name__
                continue
            if answer.is_success:
                self.sent += len(urls)
                return True
            error = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code != 429:
                break  # refused as asked: asking again will not help
        self.failed += len(urls)
        log.warning("CDN purge of %d URL(s) failed at %s: %s", len(urls), self.url, error)
        return False


class S3Target:
    """A bucket (under a prefix), known through its manifest in the state database."""

    def __init__(
        self,
        store: Store,
        bucket: S3Store,
        name: str,
        *,
        public_url: str,
        purger: Purger | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.name, self.public_url = name, public_url
        self._db, self._bucket, self._purger, self._workers = store, bucket, purger, workers
        self._manifest = store.manifest(name)
        self._tops: dict[str, set[str]] = defaultdict(set)  # top-level name → its paths
        for path in self._manifest:
            self._tops[path.split("/", 1)[0]].add(path)
        self._uploads: dict[str, _Upload] = {}
        self._deletions: dict[str, str] = {}  # path → the folder it is removed from
        self._unchanged = self._pending_bytes = 0
        self._report = PublishReport()

    @property
    def report(self) -> PublishReport:
        return self._report

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def present(self) -> frozenset[str]:
        return frozenset(top for top, paths in self._tops.items() if paths)

    def listing(self, folder: str) -> frozenset[str]:
        top = folder.split("/", 1)[0]
        return frozenset(p for p in self._tops.get(top, ()) if posixpath.dirname(p) == folder)

    def put(
        self, files: Mapping[str, bytes], *, folder: str | None = None, keep: Collection[str] = ()
    ) -> int:
        changed = 0
        for path, data in files.items():
            stored = describe(path, data)
            self._deletions.pop(path, None)
            self._unstage(path)
            if _same(self._manifest.get(path), stored):
                self._unchanged += 1
                continue
            self._uploads[path] = _Upload(path, data, stored)
            self._pending_bytes += stored.size
            changed += 1
        if folder is not None:
            wanted = set(files) | set(keep)
            for path in self._tops.get(folder, ()):
                if path not in wanted:
                    self._deletions[path] = folder
        return changed

    def delete(self, folder: str) -> None:
        for path in self._tops.get(folder, ()):
            self._unstage(path)
            self._deletions[path] = folder

    def _unstage(self, path: str) -> None:
        """Drop the upload staged for `path`, if any (a later put or delete wins)."""
        if (upload := self._uploads.pop(path, None)) is not None:
            self._pending_bytes -= upload.stored.size

    def commit(self) -> dict[str, PublishError]:
        uploads, deletions = list(self._uploads.values()), dict(self._deletions)
        unchanged = self._unchanged
        self.discard()
        changed: list[str] = []  # purged even when a phase fails: they did change
        try:
            with ThreadPoolExecutor(self._workers) as pool:
                for number in range(3):
                    batch = [upload for upload in uploads if phase(upload.path) == number]
                    self._upload(pool, batch, changed)
                refused = self._delete(pool, deletions, changed)
        finally:
            if self._purger is not None and changed:
                self._purger.purge(self.public_url + path for path in changed)
        self._report = replace(self._report, unchanged=self._report.unchanged + unchanged)
        return refused

    def _upload(self, pool: ThreadPoolExecutor, batch: list[_Upload], changed: list[str]) -> None:
        """Upload `batch` concurrently; record what the store confirmed (and add it to
        `changed`); raise PublishError when anything failed (after the client's retries)."""
        results = list(pool.map(self._upload_one, batch))
        confirmed = {path: stored for path, stored in results if isinstance(stored, StoredObject)}
        failed = [(path, error) for path, error in results if isinstance(error, str)]
        with self._db.transaction():
            self._db.save_manifest(self.name, confirmed)
        for path, stored in confirmed.items():
            self._manifest[path] = stored
            self._tops[path.split("/", 1)[0]].add(path)
        self._report = replace(
            self._report,
            written=self._report.written + len(confirmed),
            bytes_written=self._report.bytes_written + sum(s.size for s in confirmed.values()),
        )
        changed += confirmed
        if failed:
            path, error = failed[0]
            raise PublishError(
                f"{self.name}: {len(failed)} upload(s) failed, such as {path}: {error}"
            )

    def _upload_one(self, upload: _Upload) -> tuple[str, StoredObject | str]:
        stored = upload.stored
        attributes: obstore.Attributes = {
            "Content-Type": stored.content_type,
            "Cache-Control": stored.cache_control,
        }
        try:
            answer = obstore.put(
                self._bucket, upload.path, upload.data, attributes=attributes, use_multipart=False
            )
        except (StoreFailure, OSError) as exc:
            return upload.path, _reason(exc)
        return upload.path, replace(stored, etag=answer["e_tag"] or "")

    def _delete(
        self, pool: ThreadPoolExecutor, deletions: Mapping[str, str], changed: list[str]
    ) -> dict[str, PublishError]:
        """Delete concurrently; forget what the store acknowledged (and add it to
        `changed`); the folders some of whose files could not be removed, with the error."""
        results = list(pool.map(self._delete_one, deletions))
        gone = [path for path, error in results if error is None]
        refused = {
            deletions[path]: PublishError(f"{self.name}/{path}: cannot delete: {error}")
            for path, error in results
            if error is not None
        }
        with self._db.transaction():
            self._db.forget_manifest(self.name, gone)
        for path in gone:
            self._manifest.pop(path, None)
            self._tops[path.split("/", 1)[0]].discard(path)
        self._report = replace(self._report, removed=self._report.removed + len(gone))
        changed += gone
        return refused

    def _delete_one(self, path: str) -> tuple[str, str | None]:
        try:
            obstore.delete(self._bucket, path)
        except (StoreFailure, OSError) as exc:
            return path, _reason(exc)
        return path, None

    def discard(self) -> None:
        self._uploads.clear()
        self._deletions.clear()
        self._unchanged = self._pending_bytes = 0

    def refusal(self, subscriber_id: str, *, first: bool) -> str | None:
        return None  # the whole prefix is Syndicator's

    def index_refusal(self) -> str | None:
        return None

    def pages_left(self, subscriber_id: str) -> list[str]:
        folder = f"{subscriber_id}/articles"
        return sorted(
            posixpath.splitext(posixpath.basename(path))[0]
            for path in self.listing(folder)
            if path.endswith(".html")
        )

    def adopt(self, subscriber_ids: Iterable[str], *, site: bool) -> None:
        return None  # no marks in a bucket: the prefix is Syndicator's


def _reason(exc: BaseException) -> str:
    """The first line of a client error: enough to name the cause, not a page of it."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def s3_target(config: Config, store: Store) -> S3Target:
    """The bucket `config.publish` names, credentials from the environment or profile."""
    publish = config.publish
    bucket = open_bucket(publish, find_credentials(os.environ, Path.home()))
    return S3Target(
        store,
        bucket,
        target_name(publish),
        public_url=config.site.base_url,
        purger=purger(publish),
    )


def target_name(publish: PublishConfig) -> str:
    """The target as the manifest knows it: `s3://bucket/prefix/`, however it was spelled."""
    return f"s3://{publish.bucket}/{publish.prefix}"


def purger(publish: PublishConfig) -> Purger | None:
    """The purge hook `publish` configures, or None."""
    if publish.purge_url is None:
        return None
    token = os.environ.get(publish.purge_token_env) if publish.purge_token_env else None
    return Purger(publish.purge_url, token=token, batch=publish.purge_batch)


@dataclass(frozen=True, slots=True)
class Drift:
    """What `verify` found in the bucket that the manifest did not expect."""

    missing: tuple[str, ...]  # recorded, not in the bucket
    changed: tuple[str, ...]  # in the bucket with another size or ETag
    strangers: tuple[str, ...]  # in the bucket, never recorded (left alone)
    listed: int  # objects the listing returned


def find_drift(store: Store, bucket: S3Store, name: str) -> Drift:
    """List the bucket and compare it with the manifest; forget what differs, so the next
    publish uploads it again."""
    seen: dict[str, tuple[int, str]] = {}
    try:
        for chunk in obstore.list(bucket, chunk_size=1000):
            for meta in chunk:
                seen[meta["path"]] = (meta["size"], meta["e_tag"] or "")
    except (StoreFailure, OSError) as exc:
        raise PublishError(f"{name}: cannot list the bucket: {_reason(exc)}") from None
    manifest = store.manifest(name)
    missing = sorted(path for path in manifest if path not in seen)
    changed = sorted(
        path
        for path, stored in manifest.items()
        if path in seen and seen[path] != (stored.size, stored.etag)
    )
    strangers = sorted(path for path in seen if path not in manifest)
    with store.transaction():
        store.forget_manifest(name, [*missing, *changed])
    return Drift(tuple(missing), tuple(changed), tuple(strangers), len(seen))


def check_bucket(publish: PublishConfig) -> str:
    """Where the credentials were found, once the bucket took and gave back a probe
    object; PublishError says why not."""
    credentials = find_credentials(os.environ, Path.home())
    probe(open_bucket(publish, credentials), target_name(publish))
    return credentials.found


def probe(bucket: S3Store, name: str) -> None:
    """Write a tiny object and delete it: PublishError says why the bucket refused."""
    path = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    try:
        obstore.put(bucket, path, b"probe", use_multipart=False)
        obstore.delete(bucket, path)
    except (StoreFailure, OSError) as exc:
        raise PublishError(f"{name}: the bucket refused a probe object: {_reason(exc)}") from None

"""Load and validate the TOML config once, into frozen typed models.

`config/syndicator.toml` holds `[site]`, `[fetch]` and `[[sources]]`; subscribers live one
per file in `config/subscribers/<id>.toml`. Every problem becomes a `ConfigError` naming
the file, the key, what was wrong and what is allowed. A broken main file stops
everything (`ConfigErrors`); a broken subscriber file is recorded in `Config.problems` and
skipped, so the other subscribers still run.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, Union
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from .errors import ConfigError, ConfigErrors, UnknownLanguage
from .files import read_regular
from .locales import DEFAULT_DATE_FORMAT, check_date_format, locale_of
from .models import DEFAULT_VIDEO_HOSTS, slugify

if typing.TYPE_CHECKING:
    from .scripture.providers import Provider

DEFAULT_CONFIG_PATH = Path("config/syndicator.toml")
SUBSCRIBERS_DIR = "subscribers"

# Lower-case letters, digits and inner hyphens: safe as a folder name and in a URL.
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
SLUG_RULE = "lower-case letters, digits and inner hyphens, at most 64 characters"

N = TypeVar("N", int, float)


@dataclass(frozen=True, slots=True)
class Bounds(Generic[N]):
    """A number's allowed range, [lo, hi]: field metadata (through `InRange`) that forms
    read back to bound their number inputs."""

    lo: N
    hi: N

    def __call__(self, value: N) -> N:
        if not self.lo <= value <= self.hi:
            raise PydanticCustomError(
                "range",
                "must be {lo}–{hi}, got {got}",
                {"lo": self.lo, "hi": self.hi, "got": value},
            )
        return value


def InRange(lo: N, hi: N) -> AfterValidator:
    """Field metadata: the value must lie in [lo, hi] ("must be 1–100, got 0")."""
    return AfterValidator(Bounds(lo, hi))


def bounds_of(field: FieldInfo) -> Bounds[Any] | None:
    """The `InRange` bounds of a model field, if it has them (optional ones included)."""
    return _bounds_in(field.metadata, field.annotation)


def _bounds_in(metadata: Iterable[Any], annotation: Any) -> Bounds[Any] | None:
    for meta in metadata:
        if isinstance(meta, AfterValidator) and isinstance(meta.func, Bounds):
            return meta.func
    for arg in typing.get_args(annotation):  # `Annotated[int, InRange(1, 9)] | None`
        if found := _bounds_in(getattr(arg, "__metadata__", ()), arg):
            return found
    return None


def _slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value):
        raise PydanticCustomError(
            "slug",
            "{value} is not a valid id: use {rule}",
            {"value": repr(value), "rule": SLUG_RULE},
        )
    return value


Slug = Annotated[str, Strict(), AfterValidator(_slug)]


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        hint = ""
        if not parts.scheme and "." in value.split("/", 1)[0] and " " not in value:
            hint = f" (did you mean 'https://{value}'?)"
        raise PydanticCustomError(
            "web_url",
            "must be an absolute http(s) URL, got {value}{hint}",
            {"value": repr(value), "hint": hint},
        )
    unsafe = sorted(set(URL_UNSAFE.findall(value)))
    if unsafe:
        named = ["spaces" if c.isspace() else repr(c) for c in unsafe]
        raise PydanticCustomError(
            "web_url",
            "must not contain {named} (encode them, e.g. a space as %20), got {value}",
            {"named": ", ".join(dict.fromkeys(named)), "value": repr(value)},
        )
    try:
        valid_host = bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number, or out of range
        valid_host = False
    if not valid_host:
        raise PydanticCustomError(
            "web_url",
            "must name a host (and a port 1–65535, if any), got {value}",
            {"value": repr(value)},
        )
    return value


URL_UNSAFE = re.compile(r'[\s<>"{}|\\^`]')  # never raw in a URL (RFC 3986)


def check_web_url(value: str) -> str:
    """`value` if it is a URL a subscriber's `site_url` accepts, else ValueError saying why."""
    try:
        return _web_url(_printable(value))
    except PydanticCustomError as exc:
        raise ValueError(exc.message()) from None


def _printable(value: str) -> str:
    if value and not value.strip():
        raise PydanticCustomError("blank", "must not be blank, got {value}", {"value": repr(value)})
    if re.search("[\x00-\x1f\x7f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]", value):
        raise PydanticCustomError(
            "control_character",
            "must not contain control characters or noncharacters, got {value}",
            {"value": repr(value)},
        )
    return value


WebUrl = Annotated[str, Strict(), AfterValidator(_printable), AfterValidator(_web_url)]


def _no_fragment(value: str) -> str:
    if "#" in value:
        raise PydanticCustomError(
            "fragment",
            "must not have a #fragment: story links add ?story=… to it, which must come "
            "before any '#' (remove {fragment}), got {value}",
            {"fragment": repr(value[value.index("#") :]), "value": repr(value)},
        )
    return value


DetailUrl = Annotated[WebUrl, AfterValidator(_no_fragment)]
Text = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_printable)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def base_url_warnings(base_url: str) -> list[str]:
    """Why embed codes made with `base_url` would not work on churches' sites (valid
    config, wrong for handing out): plain http, or an address only this machine or its
    network can reach."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    warnings = []
    if parts.scheme == "http":
        warnings.append(
            "it is plain http: on a church's https site the browser blocks the script and "
            "the iframe (mixed content); serve output_dir over https and use that URL"
        )
    try:
        address = ipaddress.ip_address(host)
        local = address.is_loopback or address.is_private or address.is_link_local
    except ValueError:
        local = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    if local:
        warnings.append(
            f"{host} is reachable from this machine or its network only: churches' readers "
            "cannot load anything from it; use the public address where output_dir is served"
        )
    return warnings


class SiteConfig(_Model):
    """`[site]`: where outputs are written and served, and who we are."""

    name: Text
    base_url: WebUrl  # the public URL of output_dir; always ends with "/"
    output_dir: Path = Field(default=Path("output"), validate_default=True)
    state_dir: Path = Field(default=Path("state"), validate_default=True)
    contact_url: WebUrl | None = None  # goes into our User-Agent, so publishers can reach us

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("output_dir", "state_dir")
    @classmethod
    def _resolve_dir(cls, value: Path, info: ValidationInfo) -> Path:
        folder = Path(os.path.normpath(_config_dir(info) / value.expanduser()))
        if info.field_name == "output_dir" and _within(_config_dir(info), folder):
            raise PydanticCustomError(
                "overlap",
                "must not be the config folder or a folder holding it ({folder}): publishing "
                "removes whatever a subscriber's folder no longer needs, and a web server "
                "serves all of it",
                {"folder": str(folder)},
            )
        output = info.data.get("output_dir")
        if info.field_name == "state_dir" and output and _overlap(folder, output):
            raise PydanticCustomError(
                "overlap",
                "must be apart from output_dir ({folder} and {output}): a web server would "
                "serve the database, and publishing could remove it",
                {"folder": str(folder), "output": str(output)},
            )
        return folder


def _within(inner: Path, outer: Path) -> bool:
    """Whether `inner` is `outer` or inside it, links resolved (the folders may not exist)."""
    inner_real, outer_real = os.path.realpath(inner), os.path.realpath(outer)
    return inner_real == outer_real or inner_real.startswith(outer_real.rstrip(os.sep) + os.sep)


def _overlap(one: Path, other: Path) -> bool:
    return _within(one, other) or _within(other, one)


class FetchSettings(_Model):
    """`[fetch]`: polling and HTTP limits for all sources (a source may set its own interval)."""

    interval_minutes: Annotated[int, Strict(), InRange(1, 24 * 60)] = 30
    connect_timeout: Annotated[float, InRange(0.1, 120)] = 10.0
    read_timeout: Annotated[float, InRange(0.1, 300)] = 30.0
    deadline_seconds: Annotated[float, InRange(0.5, 600)] = 60.0  # whole fetch, redirects included
    max_bytes: Annotated[int, Strict(), InRange(1024, 1024**3)] = (
        10 * 1024**2
    )  # after decompression
    max_redirects: Annotated[int, Strict(), InRange(0, 20)] = 5
    max_backoff_hours: Annotated[int, Strict(), InRange(1, 24 * 7)] = 24


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "regex",
            "not a valid regular expression ({error}): {value}",
            {"error": str(exc), "value": repr(value)},
        ) from None
    return value


Regex = Annotated[str, Strict(), AfterValidator(_regex)]

# The outlet's own promo paragraph and WordPress's "The post … appeared first on …" footer:
# subscribers get their own attribution and footer instead.
DEFAULT_REMOVE_PARAGRAPHS = (
    r"^If you are interested in articles produced by Worthy News\b",
    r"^The post .+ appeared first on .+",
)
DEFAULT_REMOVE_CLASSES = (
    "sharedaddy", "sd-sharing", "sd-social", "sd-block", "addtoany", "a2a_",
    "share-buttons", "social-share", "sharethis", "heateor", "jp-relatedposts",
    "wp-block-social-links", "yarpp-related",
)  # fmt: skip
DEFAULT_TRACKER_HOSTS = (
    "pixel.wp.com", "stats.wp.com", "www.facebook.com", "facebook.com",
    "www.google-analytics.com", "google-analytics.com", "ssl.google-analytics.com",
    "www.googletagmanager.com", "stats.g.doubleclick.net", "ad.doubleclick.net",
    "bat.bing.com", "sb.scorecardresearch.com", "pixel.quantserve.com", "feeds.feedburner.com",
)  # fmt: skip


class CleanSettings(_Model):
    """`[sources.clean]`: how this source's articles are normalised (defaults fit Worthy News)."""

    outlet_name: Text = "Worthy News"
    remove_paragraphs: tuple[Regex, ...] = DEFAULT_REMOVE_PARAGRAPHS  # matched on the text
    remove_classes: tuple[Text, ...] = DEFAULT_REMOVE_CLASSES  # class prefixes of blocks to drop
    tracker_hosts: tuple[Text, ...] = DEFAULT_TRACKER_HOSTS  # images from these are dropped
    section_heads: Literal["h3", "h4", "keep"] = "h3"  # ALL-CAPS paragraphs become this
    keep_byline: Annotated[bool, Strict()] = False  # the attribution shows the author anyway
    keep_dateline: Annotated[bool, Strict()] = True
    video_hosts: tuple[Text, ...] = DEFAULT_VIDEO_HOSTS
    external_links: Literal["same_tab", "new_tab"] = "same_tab"
    excerpt_words: Annotated[int, Strict(), InRange(10, 500)] = 55


def _language(value: str) -> str:
    try:
        locale_of(value)
    except UnknownLanguage as exc:
        close = " or ".join(repr(tag) for tag in exc.suggestions)
        raise PydanticCustomError(
            "language",
            "unknown language {value}{hint}; any language CLDR knows works, as a code such "
            "as 'en', 'es', 'ko' or 'pt-BR'",
            {"value": repr(value), "hint": f" (did you mean {close}?)" if close else ""},
        ) from None
    return value


# A language tag CLDR knows (`locales.locale_of`): a subscriber's, or a source's stories'.
Language = Annotated[
    str, Strict(), Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"), AfterValidator(_language)
]


class SourceConfig(_Model):
    """`[[sources]]`: one upstream feed."""

    id: Slug
    url: Annotated[str, Strict()]
    interval_minutes: Annotated[int, Strict(), InRange(1, 24 * 60)] | None = None
    # Its stories' language; unset, the feed's <language> (none: they are not marked).
    language: Language | None = None
    clean: CleanSettings = CleanSettings()

    @field_validator("url")
    @classmethod
    def _feed_url(cls, value: str, info: ValidationInfo) -> str:
        parts = urlsplit(value)
        if parts.scheme == "file":
            path = Path(url2pathname(parts.path))
            if not parts.path or parts.netloc not in {"", "localhost"}:
                raise PydanticCustomError(
                    "file_url",
                    "file URL must be file:///absolute/path or file:relative/path, got {value}",
                    {"value": repr(value)},
                )
            return (_config_dir(info) / path).resolve().as_uri()
        return _web_url(value)


def _colour(value: str) -> str:
    if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", value):
        raise PydanticCustomError(
            "colour", "must be a hex colour like '#1a5fb4', got {value}", {"value": repr(value)}
        )
    return value.lower()


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "unknown time zone {value}; use an IANA name like 'America/Chicago'",
            {"value": repr(value)},
        ) from None
    return value


def _date_format(value: str) -> str:
    try:
        check_date_format(value)
    except ValueError as exc:
        raise PydanticCustomError("date_format", "{why}", {"why": str(exc)}) from None
    return value


Output = Literal["rss", "atom", "json", "snippet", "embed", "widget", "articles", "pages"]
OUTPUTS: tuple[Output, ...] = typing.get_args(Output)


class Theme(_Model):
    """How the widget, snippet and pages look on the church's site."""

    accent: Annotated[str, Strict(), AfterValidator(_colour)] = "#1a5fb4"
    # inherit: the host page's text colour on its own background, links in the accent (the
    # embed and snippet; our own pages, iframe included, have no host: they are light);
    # auto follows prefers-color-scheme.
    mode: Literal["inherit", "light", "dark", "auto"] = "inherit"
    layout: Literal["list", "cards", "compact"] = "list"
    # inherit: the host page's font (our own pages: the system sans-serif stack)
    font: Literal["inherit", "system", "serif"] = "inherit"


# `[scripture] link`: no links, or a key of `scripture.providers.PROVIDERS` (a test holds
# them to each other).
Link = Literal["none", "biblegateway", "youversion"]


def _providers() -> Mapping[str, Provider]:
    # Imported when a version is checked, not with this module: the scripture package
    # brings the sanitizer, and loading a config loads no stage of the pipeline.
    from .scripture.providers import PROVIDERS

    return PROVIDERS


def _version_code(value: str) -> str:
    return value.strip().upper()  # "niv" is NIV: the tables hold upper case


class ScriptureSettings(_Model):
    """`[scripture]`: Bible references in the stories link to the passage on the site
    the church chose, in its translation (`scripture.providers`)."""

    link: Link = "none"
    # An abbreviation the provider has (any case); unset: its default for the
    # subscriber's language (`resolved_version`).
    version: Annotated[str, Strict(), AfterValidator(_version_code)] | None = None

    @field_validator("version")
    @classmethod
    def _provider_has_it(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        link, providers = info.data.get("link", "none"), _providers()
        # With no provider chosen (or an invalid one), any provider's version will do:
        # `[defaults]` may name the version and each church the site.
        sites = [providers[link]] if link in providers else list(providers.values())
        if any(value in site.versions for site in sites):
            return value
        allowed = sorted({code for site in sites for code in site.versions})
        where = f"a version {sites[0].name} has" if len(sites) == 1 else "a known version"
        raise PydanticCustomError(
            "version",
            "{value} is not {where}; allowed: {allowed}",
            {"value": repr(value), "where": where, "allowed": ", ".join(allowed)},
        )


def resolved_version(settings: ScriptureSettings, language: str) -> str | None:
    """The translation a subscriber's references link to: the one it names, else its
    provider's default for `language`; None when it links none."""
    if settings.link == "none":
        return None
    return settings.version or _providers()[settings.link].default_version(language)


class SubscriberOptions(_Model):
    """What a subscriber receives and how it looks. `[defaults]` in the main file sets
    site-wide values; each subscriber file overrides them key by key."""

    categories: tuple[Text, ...] = ()  # empty: every category
    exclude_categories: tuple[Text, ...] = ()
    keywords: tuple[Text, ...] = ()  # keep only articles whose title or text has one
    exclude_keywords: tuple[Text, ...] = ()
    max_age_days: Annotated[int, Strict(), InRange(1, 3650)] | None = None
    limit: Annotated[int, Strict(), InRange(1, 100)] = 10  # items in the feeds and widget
    per_page: Annotated[int, Strict(), InRange(1, 50)] = 10  # items per widget/archive page
    pages: Annotated[int, Strict(), InRange(1, 100)] = 5  # archive pages kept
    content: Literal["full", "excerpt", "title"] = "excerpt"
    excerpt_words: Annotated[int, Strict(), InRange(10, 500)] = 55
    image: Literal["none", "thumbnail", "full"] = "thumbnail"
    image_position: Literal["left", "right", "top"] = "left"
    link_to: Literal["original", "hosted", "detail_page"] = "original"
    detail_page_url: DetailUrl | None = None  # required with link_to = "detail_page"
    utm: Annotated[bool, Strict()] = True  # tag links to the outlet with utm_* naming us
    footer: Annotated[str, Strict(), AfterValidator(_printable)] = ""  # plain text; "" = default
    keep_pages_days: Annotated[int, Strict(), InRange(0, 3650)] = 90  # pages of unlisted stories
    theme: Theme = Theme()
    scripture: ScriptureSettings = ScriptureSettings()
    language: Language = "en"
    # A CLDR date style of the language, or a pattern: CLDR's or strftime's (`locales`).
    date_format: Annotated[str, Strict(), AfterValidator(_date_format)] = DEFAULT_DATE_FORMAT
    timezone: Annotated[str, Strict(), AfterValidator(_timezone)] = "UTC"
    outputs: tuple[Output, ...] = OUTPUTS

    @model_validator(mode="after")
    def _hosted_needs_pages(self) -> SubscriberOptions:
        if self.link_to == "hosted" and "articles" not in self.outputs:
            raise PydanticCustomError(
                "hosted",
                'link_to = "hosted" links to our article pages: add "articles" to outputs',
            )
        return self

    @model_validator(mode="after")
    def _detail_page_needs_url(self) -> SubscriberOptions:
        if self.link_to == "detail_page" and not self.detail_page_url:
            raise PydanticCustomError(
                "detail_page",
                'link_to = "detail_page" needs detail_page_url (the page on the church\'s '
                "site where the embed shows the full story)",
            )
        return self


class SubscriberConfig(SubscriberOptions):
    """One `subscribers/<id>.toml` file: a church or ministry and what it receives."""

    id: Slug  # the file name; not written in the file
    name: Text
    site_url: WebUrl


# Keys that would put a credential in the config: refused with where credentials go.
SECRET_KEYS = frozenset(
    {
        "access_key",
        "access_key_id",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "password",
        "purge_token",
        "secret",
        "secret_access_key",
        "secret_key",
        "session_token",
        "token",
    }
)
CREDENTIALS_HELP = (
    "credentials are never read from the config (it is copied and shown): set "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or AWS_PROFILE for a "
    "profile in ~/.aws/credentials; the purge hook's token comes from the variable "
    "named by purge_token_env"
)
S3_TARGET_RE = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _s3_target(value: str) -> str:
    found = S3_TARGET_RE.fullmatch(value)
    prefix = (found.group(2) or "").strip("/") if found else ""
    if not found or any(part in {"", ".", ".."} for part in prefix.split("/") if prefix):
        raise PydanticCustomError(
            "s3_target",
            "must be s3://BUCKET or s3://BUCKET/PREFIX (a bucket name of lower-case letters, "
            "digits, dots and hyphens; no empty, '.' or '..' part in the prefix), got {value}",
            {"value": repr(value)},
        )
    return value


def _env_name(value: str) -> str:
    if not ENV_NAME_RE.fullmatch(value):
        raise PydanticCustomError(
            "env_name",
            "must be the name of an environment variable (A-Z, 0-9, _), got {value}",
            {"value": repr(value)},
        )
    return value


class PublishConfig(_Model):
    """`[publish]`: where outputs go when not to `output_dir` (an S3-compatible bucket),
    and the CDN purge hook. Credentials are never here: the environment or a profile."""

    target: Annotated[str, Strict(), AfterValidator(_s3_target)] | None = None
    endpoint_url: WebUrl | None = None  # any S3-compatible service; AWS when unset
    region: Text | None = None
    public_url: WebUrl | None = None  # where the bucket is served; replaces site.base_url
    purge_url: WebUrl | None = None  # POSTed {"files": [changed URLs]} after a cycle
    purge_token_env: Annotated[str, Strict(), AfterValidator(_env_name)] | None = None
    purge_batch: Annotated[int, Strict(), InRange(1, 3000)] = 30  # URLs per POST

    @field_validator("public_url")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        return value if value is None or value.endswith("/") else value + "/"

    @property
    def bucket(self) -> str | None:
        """The bucket of `target`, or None when publishing to `output_dir`."""
        found = S3_TARGET_RE.fullmatch(self.target or "")
        return found.group(1) if found else None

    @property
    def prefix(self) -> str:
        """The key prefix under the bucket (`""`, or `"a/b/"` ending in a slash)."""
        found = S3_TARGET_RE.fullmatch(self.target or "")
        prefix = (found.group(2) or "").strip("/") if found else ""
        return prefix + "/" if prefix else ""


class SmtpConfig(_Model):
    """`[web.smtp]`: the mail server the console tells churches through (their request
    approved or declined). Its password comes from the environment, never from here."""

    host: Text
    port: Annotated[int, Strict(), InRange(1, 65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"  # none: a local relay only
    sender: Text  # the From address
    username: Text | None = None
    password_env: Annotated[str, Strict(), AfterValidator(_env_name)] | None = None


class WebConfig(_Model):
    """`[web]`: what `syndicator web` offers beyond the console."""

    # /join: churches build their widget and ask for it; an admin approves each request.
    self_service: Annotated[bool, Strict()] = False
    smtp: SmtpConfig | None = None  # without it, a church's private link is its only news


class _MainFile(_Model):
    site: SiteConfig
    publish: PublishConfig = PublishConfig()
    web: WebConfig = WebConfig()
    fetch: FetchSettings = FetchSettings()
    defaults: SubscriberOptions = SubscriberOptions()
    sources: tuple[SourceConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_source_ids(self) -> _MainFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise PydanticCustomError(
                    "duplicate", "source id {id} is used twice", {"id": repr(source.id)}
                )
            seen.add(source.id)
        return self


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration, paths resolved against the config folder."""

    path: Path
    site: SiteConfig
    fetch: FetchSettings
    defaults: SubscriberOptions
    sources: tuple[SourceConfig, ...]
    subscribers: tuple[SubscriberConfig, ...]
    problems: tuple[ConfigError, ...] = ()  # subscriber files that were skipped
    publish: PublishConfig = field(default_factory=PublishConfig)  # output_dir when unset
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def subscribers_dir(self) -> Path:
        return self.path.parent / SUBSCRIBERS_DIR

    @property
    def database_path(self) -> Path:
        return self.site.state_dir / "syndicator.sqlite3"

    @property
    def broken_subscriber_ids(self) -> frozenset[str]:
        """Ids of the subscriber files skipped as invalid (their outputs stay published)."""
        stems = (Path(problem.file).stem for problem in self.problems)
        return frozenset(stem for stem in stems if SLUG_RE.fullmatch(stem))  # others: no id

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    def interval_minutes(self, source: SourceConfig) -> int:
        return source.interval_minutes or self.fetch.interval_minutes

    def as_dict(self) -> dict[str, Any]:
        """The effective config (defaults filled, paths resolved), for `--print-config`."""
        return {
            "site": self.site.model_dump(mode="json", exclude_none=True),
            "fetch": self.fetch.model_dump(mode="json"),
            "publish": self.publish.model_dump(mode="json", exclude_none=True),
            "web": self.web.model_dump(mode="json", exclude_none=True),
            "defaults": self.defaults.model_dump(mode="json", exclude_none=True),
            "sources": [s.model_dump(mode="json", exclude_none=True) for s in self.sources],
            "subscribers": [s.model_dump(mode="json", exclude_none=True) for s in self.subscribers],
        }


def load_config(path: Path | str = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate the main file and every subscriber file.

    Raises `ConfigErrors` when the main file is missing or invalid. Invalid subscriber files
    do not raise: they are left out and listed in `Config.problems`.
    """
    path = Path(path).absolute()
    shown = display_path(path)
    data = _read_toml(path, shown)
    try:
        main = _MainFile.model_validate(data, context={"config_dir": path.parent})
    except ValidationError as exc:
        raise ConfigErrors(_explain(shown, exc, _MainFile)) from None

    subscribers: list[SubscriberConfig] = []
    problems: list[ConfigError] = []
    defaults = data.get("defaults", {})
    for file in _subscriber_files(path.parent / SUBSCRIBERS_DIR):
        try:
            subscribers.append(load_subscriber(file, defaults))
        except ConfigErrors as exc:
            problems.extend(exc.errors)
    site = main.site
    if main.publish.public_url is not None:  # every URL handed out names the bucket's
        site = site.model_copy(update={"base_url": main.publish.public_url})
    return Config(
        path=path,
        site=site,
        fetch=main.fetch,
        defaults=main.defaults,
        sources=main.sources,
        subscribers=tuple(subscribers),
        problems=tuple(problems),
        publish=main.publish,
        web=main.web,
    )


def _subscriber_files(folder: Path) -> list[Path]:
    """The `*.toml` files in `folder`, none when nothing is there. Something there that
    cannot be listed (a file, a link loop) raises `ConfigErrors` naming it: read as "no
    subscribers", it would retire every church's outputs."""
    try:
        names = os.listdir(folder)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not folder.is_symlink():
            return []  # a dangling link is something there, and is said
        message = f"cannot list subscriber files: {exc.strerror}"
        raise ConfigErrors([ConfigError(display_path(folder), None, message)]) from None
    return sorted(folder / name for name in names if name.endswith(".toml"))


def load_subscriber(file: Path, defaults: Mapping[str, Any] | None = None) -> SubscriberConfig:
    """Validate one subscriber file over the site-wide `defaults` (already validated with
    the main file); its id is its file name without `.toml`."""
    shown = display_path(file)
    subscriber_id = file.stem
    if not SLUG_RE.fullmatch(subscriber_id):
        suggestion = re.sub(r"[^a-z0-9]+", "-", subscriber_id.lower()).strip("-") or "church"
        raise ConfigErrors(
            [
                ConfigError(
                    shown,
                    None,
                    f"file name {file.name!r} is not a valid subscriber id ({SLUG_RULE}); "
                    f"rename it, e.g. to {suggestion}.toml",
                )
            ]
        )
    return subscriber_from(_read_toml(file, shown), subscriber_id, defaults, shown)


def subscriber_from(
    data: Mapping[str, Any],
    subscriber_id: str,
    defaults: Mapping[str, Any] | None = None,
    shown: str = "subscriber",
) -> SubscriberConfig:
    """Validate what a subscriber file holds (`data`, as parsed TOML) over the site-wide
    `defaults`, as `load_subscriber` does: `ConfigErrors` name `shown` as the file. The
    console previews a form's draft through it without writing a file."""
    if "id" in data:
        raise ConfigErrors(
            [ConfigError(shown, "id", "remove this key: a subscriber's id is its file name")]
        )
    defaults = defaults or {}
    merged = {**defaults, **data, "id": subscriber_id}
    for key, value in data.items():  # tables ([theme], [scripture]) merge key by key
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            merged[key] = {**defaults[key], **value}
    try:
        return SubscriberConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigErrors(_explain(shown, exc, SubscriberConfig)) from None


def validate_subscriber_id(subscriber_id: str) -> str:
    """Return the id if it is a safe slug, else raise `ConfigError` (guards path traversal)."""
    if not SLUG_RE.fullmatch(subscriber_id):
        # A name typed where the id goes ("New Church"): the id it would make is the fix.
        close = slugify(subscriber_id, 64)
        hint = f"; did you mean {close!r}?" if close and close != subscriber_id else ""
        raise ConfigError(
            "subscriber id", None, f"{subscriber_id!r} is not valid: use {SLUG_RULE}{hint}"
        )
    return subscriber_id


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _config_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("config_dir", "."))


def _read_toml(path: Path, shown: str) -> dict[str, Any]:
    try:
        text = read_regular(path).decode("utf-8")
        if too_deep := _nesting_problem(text):  # before the parser, which recurses
            raise ConfigErrors([ConfigError(shown, None, too_deep)])
        return tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(shown, None, "file not found")]) from None
    except OSError as exc:
        raise ConfigErrors([ConfigError(shown, None, f"cannot read: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        message = f"invalid TOML: {exc}{_toml_hint(str(exc))}"
        raise ConfigErrors([ConfigError(shown, None, message)]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        raise ConfigErrors([ConfigError(shown, None, message)]) from None
    except ValueError as exc:  # tomllib's int() of a number past 4,300 digits
        message = f"invalid TOML: {str(exc).split(';')[0]}"
        raise ConfigErrors([ConfigError(shown, None, message)]) from None


MAX_NESTING = 20  # arrays, tables and dotted keys inside one another; our keys need 3

# What can hold brackets and dots that are not nesting (strings, comments), and the
# characters that nest or end a key. An unclosed string runs to its end (of line, or of
# the text): the parser stops there anyway, so nothing after it is ever read as TOML.
_TOML_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|""?(?!"))*(?:"{3,5}|\Z)'
    r"|'''(?:[^']|''?(?!'))*(?:'{3,5}|\Z)"
    r'|"(?:[^"\\\n]|\\.)*(?:"|$)'
    r"|'[^'\n]*(?:'|$)"
    r"|#[^\n]*"
    r"|[][{}.=,\n]",
    re.DOTALL | re.MULTILINE,
)


def _nesting_problem(text: str) -> str | None:
    """Where `text` nests deeper than `MAX_NESTING`, if it does. A cheap scan, linear in
    the text: the TOML parser recurses once per array or inline table (a few hundred
    deep is a RecursionError) and takes time quadratic in a dotted key's length."""
    outer: list[int] = []  # the level at each open bracket
    level = dots = key_dots = 0  # brackets and keys around; dots in the key being read
    for token in _TOML_TOKENS.finditer(text):
        char = token.group()
        if len(char) > 1 or char in "\"'#":
            continue  # a string or a comment
        if char == ".":
            dots += 1
            depth = level + dots
        elif char in "[{":
            outer.append(level)
            level += key_dots + 1  # `a.b = [` opens below a and b
            depth, dots, key_dots = level, 0, 0
        elif char in "]}":
            level, dots, key_dots = outer.pop() if outer else 0, 0, 0
            continue
        elif char == "=":
            key_dots, dots = dots, 0
            continue
        else:  # a comma or a new line ends a key and its value
            dots = key_dots = 0
            continue
        if depth > MAX_NESTING:
            line = text.count("\n", 0, token.start()) + 1
            return (
                f"nested more than {MAX_NESTING} deep at line {line} (arrays, tables and "
                "dotted keys inside one another); no setting needs more than 3"
            )
    return None


TOML_HINTS = (  # what the TOML parser's words usually mean in a file written by hand
    ("Invalid value", 'text goes in double quotes: name = "Grace Church"'),
    ("Cannot overwrite a value", "a key is set twice; keep one of the lines"),
    ("Cannot declare", "a [table] heading appears twice; merge them into one"),
    ("Unterminated string", "a text is missing its closing double quote"),
    ("Expected '=' after a key", "each line is key = value, e.g. limit = 5"),
)


def _toml_hint(message: str) -> str:
    for start, hint in TOML_HINTS:
        if message.startswith(start):
            return f"; {hint}"
    return ""


MAX_PROBLEMS = 20  # per file: a file of 60,000 unknown keys is not 60,000 lines of output


def _explain(shown: str, exc: ValidationError, root: type[BaseModel]) -> list[ConfigError]:
    errors = exc.errors()
    reported = {tuple(err["loc"][:1]) for err in errors if len(err["loc"]) > 1}
    # A list whose every item was invalid is also "too short": the items say why.
    kept = [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in reported)]
    explained = [
        ConfigError(shown, _key_path(err["loc"]) or None, _message(err, root))
        for err in kept[:MAX_PROBLEMS]
    ]
    if len(kept) > MAX_PROBLEMS:
        more = len(kept) - MAX_PROBLEMS
        explained.append(ConfigError(shown, None, f"and {more:,} more problem(s) not shown"))
    return explained


def _key_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Mapping[str, Any], root: type[BaseModel]) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    loc = tuple(err["loc"])
    if kind == "extra_forbidden" and str(loc[-1]).lower() in SECRET_KEYS:
        return f"a secret in the config; {CREDENTIALS_HELP}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        if len(loc) > 1 and loc[-1] in _allowed_keys(root, ()):
            return (
                f"unknown key in [{_key_path(loc[:-1])}]; {loc[-1]!r} is a top-level key: "
                f"move its line above the [{_key_path(loc[:-1])}] heading (every line "
                f"below a heading belongs to that table); allowed here: {', '.join(allowed)}"
            )
        hint = _in_a_table(root, loc) or difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        fix = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key; {fix}allowed keys: {', '.join(allowed)}"
    if kind == "string_pattern_mismatch" and loc[-1:] == ("language",):
        return f"must be a language code such as 'en', 'es', 'pt' or 'pt-BR', got {value!r}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, got {value!r}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be a whole number, got {value!r}"
    if kind == "bool_type":
        return f"must be true or false (no quotes), got {value!r}"
    if kind in {"float_type", "float_parsing"}:
        return f"must be a number, got {value!r}"
    if kind == "string_type":
        return f"must be a text in quotes, got {value!r}"
    if kind in {"tuple_type", "list_type"}:
        return f'must be a list like ["a", "b"], got {value!r}'
    if kind in {"model_type", "dict_type"}:
        return f"must be a table of keys, got {value!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return "must not be empty"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


def _in_a_table(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The dotted key meant by a key of a table written outside it (`mode` for
    `theme.mode`), as a list of none or one."""
    here = loc[:-1]
    return [
        f"{_key_path((*here, table))}.{loc[-1]}"
        for table in _allowed_keys(root, here)
        if loc[-1] in _allowed_keys(root, (*here, table))
    ][:1]


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        current = _model_in(field.annotation) if field else None
    if current is None:
        return []
    fields = current.model_fields
    names = [name for name in fields if not (current is SubscriberConfig and name == "id")]
    return sorted(names, key=lambda name: not fields[name].is_required())  # required first


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, tuple, list) or origin is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None

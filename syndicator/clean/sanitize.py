"""The one security boundary: `sanitize()` is the only producer of `SafeHtml`.

Every byte of upstream HTML is hostile until it has passed through here. The policy is
data (the allowlists below) applied by nh3 (ammonia), plus what nh3 does not check on its
own: `srcset` candidates, iframe hosts, URL normalisation the way browsers do it (they drop
tabs and newlines inside a URL and control characters around it), and the raw text that
HTML parsing keeps inside an `<iframe>`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3

from ..models import DEFAULT_VIDEO_HOSTS, SafeHtml

ALLOWED_TAGS = frozenset(
    {
        "p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
        "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "abbr",
        "blockquote", "q", "cite", "figure", "figcaption", "img", "br", "hr", "pre", "code",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "iframe",
    }
)  # fmt: skip
# Removed together with everything inside them (the rest are unwrapped, text kept).
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "noscript", "template", "textarea", "select", "option", "title",
        "xmp", "noembed", "noframes", "svg", "math", "object", "applet", "head",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height"},
    "iframe": {"src", "width", "height", "title", "allowfullscreen"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
WEB_SCHEMES = frozenset({"http", "https"})  # what an <img> may load
EMBED_SCHEMES = frozenset({"https"})  # what an <iframe> may load
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# Video hosts whose players may stay as iframes, with the path their embeds live under.
VIDEO_EMBED_PATHS = {
    "www.youtube.com": "/embed/",
    "youtube.com": "/embed/",
    "www.youtube-nocookie.com": "/embed/",
    "player.vimeo.com": "/video/",
}

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Never text: the controls but tab, LF and CR, surrogates, and Unicode's noncharacters
# (U+FDD0–U+FDEF, the renderer's placeholders, and the last two code points of every
# plane). DEL and the C1 controls only once mojibake is repaired: it is made of them.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
_NOT_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
_NOT_TEXT_BUT_C1 = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff{_NONCHARACTERS}]")
_UNSAFE_IN_URL = re.compile("[<>\"'` ]")
_DOT_SEGMENT = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?:/|$)|\\", re.I)
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_DIGITS = re.compile(r"\d{1,5}")
_SRCSET_DESCRIPTOR = re.compile(r"\d+w|\d+(?:\.\d+)?x")
_IFRAME = re.compile(r"(<iframe\b[^>]*>).*?</iframe>", re.S)
_IFRAME_WITHOUT_SRC = re.compile(r'<iframe(?![^>]*\ssrc=")[^>]*></iframe>')


@dataclass(frozen=True, slots=True)
class Policy:
    """The few choices an admin may make about sanitized HTML."""

    video_hosts: tuple[str, ...] = DEFAULT_VIDEO_HOSTS
    new_tab: bool = False  # open links in a new tab (target="_blank", always with noopener)


DEFAULT_POLICY = Policy()


def sanitize(html: str, policy: Policy = DEFAULT_POLICY) -> SafeHtml:
    """Return `html` reduced to the allowlist: the only way to obtain `SafeHtml`.

    No script, event handler, style, form, SVG/MathML or non-http(s)/mailto URL survives;
    iframes survive only as empty players from `policy.video_hosts`. The result is a
    fixed point: sanitizing it again changes nothing.
    """
    cleaner = _cleaner(policy)
    # Twice: when nh3 drops a bad href it puts rel="noopener" in its place, and a second
    # pass moves it to the end; from then on the output is a fixed point. (~0.1 ms) What
    # is not text is stripped before each: parsing turns references (`&#xFFFF;`) into
    # characters, and nh3's output writes none but `&amp;`, `&lt;`, `&gt;`, `&quot;` and
    # `&nbsp;`, so the second pass's output is free of them.
    once = cleaner.clean(_short_runs(strip_text_chars(html)))
    cleaned = cleaner.clean(_short_runs(strip_text_chars(once)))
    if "<iframe" in cleaned:
        # nh3 keeps an iframe's raw-text content; a browser would not render it, but no
        # other consumer of our HTML should ever see it either.
        cleaned = _IFRAME.sub(r"\1</iframe>", cleaned)
        cleaned = _IFRAME_WITHOUT_SRC.sub("", cleaned)
    return SafeHtml(cleaned)


@functools.lru_cache(maxsize=8)
def _cleaner(policy: Policy) -> nh3.Cleaner:
    # Fixed-value attributes are allowed, not added: nh3 would add them in hash order,
    # which differs between processes, and outputs must be byte-identical run to run.
    fixed: dict[str, dict[str, set[str]]] = {
        "img": {"loading": {"lazy"}, "decoding": {"async"}},
        "iframe": {"loading": {"lazy"}, "referrerpolicy": {"strict-origin-when-cross-origin"}},
    }
    if policy.new_tab:
        fixed["a"] = {"target": {"_blank"}}
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=functools.partial(_filter_attribute, policy),
        strip_comments=True,
        link_rel="noopener",
        url_schemes=set(URL_SCHEMES),
        tag_attribute_values=fixed,
    )


def _filter_attribute(policy: Policy, tag: str, name: str, value: str) -> str | None:
    if name in URL_ATTRIBUTES:
        if tag == "iframe":
            return _video_url(value, policy.video_hosts)
        return safe_url(value, WEB_SCHEMES if tag == "img" else URL_SCHEMES)
    if name == "srcset":
        return _srcset(value)
    if name in {"width", "height", "colspan", "rowspan", "start"}:
        return value if _DIGITS.fullmatch(value.strip()) else None
    if name == "allowfullscreen":
        return ""
    if name == "title" and tag == "iframe":
        return value.replace("<", "").replace(">", "")
    return value


# nh3 takes time quadratic in the number of characters it writes as references (`&` and
# no-break spaces) in one text node: 1.6 MB of "&" took 114 s. An empty comment every
# RUN_LIMIT of them splits the node (nh3 drops the comment and writes the pieces side by
# side, so the output is the same) and keeps the whole linear.
RUN_LIMIT = 1024
_ESCAPED = re.compile("[&\xa0]")
# A tag (its quoted attribute values may hold ">"), a comment (to its end, or the
# document's), or text. Exact on what bs4 and nh3 write; on anything else a comment may
# land inside a tag or raw text, which costs that text a few characters, never safety:
# nh3 reads the result like any other input.
_TOKEN = re.compile(
    r"""(<[^"'<>]*(?:(?:"[^"]*"|'[^']*')[^"'<>]*)*>|<!--.*?(?:-->|\Z))|([^<]+|<)""", re.S
)
_RUN = re.compile(f"(?:[^&\xa0]*[&\xa0]){{{RUN_LIMIT - 1}}}[^&\xa0]*(?=[&\xa0])")


def _short_runs(html: str) -> str:
    """`html` with no text run holding more than RUN_LIMIT `&` and no-break spaces."""
    if len(_ESCAPED.findall(html)) <= RUN_LIMIT:
        return html  # no run can be too long: the usual case, decided in microseconds
    return _TOKEN.sub(_split_text, html)


def _split_text(match: re.Match[str]) -> str:
    text = match[2]
    if text is None or len(text) <= RUN_LIMIT:
        return match[0]
    return _RUN.sub(r"\g<0><!---->", text)


def strip_invalid_chars(text: str) -> str:
    """Drop characters XML 1.0 forbids (C0 controls but tab/LF/CR, surrogates, U+FFFE/F):
    no feed could carry them and no reader needs them."""
    return _XML_INVALID.sub("", text)


def strip_text_chars(text: str, *, repairable: bool = False) -> str:
    """`text` without what is never text: the controls but tab, LF and CR (C0, DEL, C1),
    surrogates and Unicode's noncharacters (the renderer's placeholders among them).
    Run after every transform that can make characters (parsing, mojibake repair); in
    HTML, only on what `sanitize` is about to read (nh3 writes no reference that could
    make one again). `repairable` keeps DEL and the C1 controls for `_repair`."""
    return (_NOT_TEXT_BUT_C1 if repairable else _NOT_TEXT).sub("", text)


def safe_url(value: str, schemes: frozenset[str] = URL_SCHEMES) -> str | None:
    """The URL as a browser would read it, if absolute and of an allowed scheme; else None.

    Characters that could end an attribute or a tag in any serializer (`<>"'` backtick and
    spaces) come back percent-encoded, so a URL can never break out of its attribute.
    """
    url = _TAB_NEWLINE.sub("", value.strip(_C0_AND_SPACE))
    url = _UNSAFE_IN_URL.sub(lambda m: f"%{ord(m.group()):02X}", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return url


def srcset_candidates(value: str) -> list[list[str]]:
    """`"a.jpg 300w, b.jpg 2x"` → `[["a.jpg", "300w"], ["b.jpg", "2x"]]` (URL first)."""
    return [pieces for pieces in (candidate.split() for candidate in value.split(",")) if pieces]


def _srcset(value: str) -> str | None:
    candidates = []
    for pieces in srcset_candidates(value):
        url = safe_url(pieces[0], WEB_SCHEMES)
        descriptors = pieces[1:]
        if url is None or len(descriptors) > 1:
            return None
        if descriptors and not _SRCSET_DESCRIPTOR.fullmatch(descriptors[0]):
            return None
        candidates.append(" ".join([url, *descriptors]))
    return ", ".join(candidates) or None


def _video_url(value: str, hosts: tuple[str, ...]) -> str | None:
    url = safe_url(value, EMBED_SCHEMES)
    if url is None:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in hosts or parts.username or parts.password or parts.port:
        return None
    prefix = VIDEO_EMBED_PATHS.get(host, "/")
    if _DOT_SEGMENT.search(parts.path):  # /embed/../watch would leave the player path
        return None
    return url if parts.path.startswith(prefix) else None


def is_video_embed(url: str, hosts: tuple[str, ...] = DEFAULT_VIDEO_HOSTS) -> bool:
    """True when an iframe with this src would survive `sanitize`."""
    return _video_url(url, hosts) is not None

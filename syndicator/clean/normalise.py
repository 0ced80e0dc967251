"""Structural clean-up of one upstream article with BeautifulSoup, then `sanitize`.

Runs once per new or changed entry. The steps, in order: repair mojibake (only when the
text looks broken); drop noise (share blocks, tracking pixels, the outlet's promo and
WordPress footer); fix lazy images and make every URL absolute; turn `wp-caption` into
`<figure>`, social embeds into links, foreign iframes into links; pull out byline and
dateline; ALL-CAPS paragraphs into headings; tidy `&nbsp;` and empty paragraphs. The
result goes through `sanitize`, the security boundary, and metadata is read off it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from encodings.idna import nameprep
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import ftfy
import lxml.html
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement
from bs4.formatter import HTMLFormatter

from .. import scripture
from ..errors import CleanError
from ..models import Article, Entry, Image, SafeHtml
from .sanitize import (
    WEB_SCHEMES,
    Policy,
    is_video_embed,
    safe_url,
    sanitize,
    srcset_candidates,
    strip_invalid_chars,
    strip_text_chars,
)

if TYPE_CHECKING:
    from ..config import CleanSettings

# Bump when cleaning code changes its output, so stored articles are cleaned again.
CLEANER_VERSION = 7
WORDS_PER_MINUTE = 230
# Removed before anything else: never content, and some hide duplicates (noscript images).
NOISE_TAGS = frozenset({
    "script", "style", "noscript", "template", "link", "meta", "base", "form", "input",
    "button", "select", "textarea", "object", "embed", "applet", "svg", "math", "head", "title",
})  # fmt: skip
MAX_DEPTH = 48  # elements nested deeper than this are unwrapped (`_flattened`)
MAX_ELEMENTS = 10_000  # an article with more is refused (a long real one has ~2,000)
# An article with a longer attribute value is refused: nh3 writes each in time quadratic
# in its `&` (a long real URL, srcset or alt text is well under 4,000 characters).
MAX_ATTRIBUTE = 16_384
UNWRAP_TAGS = frozenset(
    {"span", "font", "div", "section", "article", "center", "main", "header", "footer"}
)
HEADING_OR_P = frozenset({"p", "h2", "h3", "h4", "h5", "h6"})
CHECKED_BLOCKS = HEADING_OR_P | {"li", "figcaption"}
CAPTION_TAGS = frozenset({"figcaption", "figure"})  # not prose: left out of excerpts
INLINE_TAGS = frozenset({"strong", "b", "em", "i", "u", "s", "small", "mark", "sub", "sup", "a"})
BLOCK_TAGS = frozenset(
    {
        "p",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "blockquote",
        "figcaption",
        "td",
        "th",
        "pre",
    }
)
LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-orig-file")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
SOCIAL_EMBEDS = {
    "twitter-tweet": "X (Twitter)",
    "twitter-video": "X (Twitter)",
    "instagram-media": "Instagram",
    "tiktok-embed": "TikTok",
    "fb-post": "Facebook",
    "fb-xfbml-parse-ignore": "Facebook",
    "bluesky-embed": "Bluesky",
}
_SPACES = re.compile(r"[ \t\r\n\xa0]+")
_NBSP_RUN = re.compile(r"[ \xa0]{2,}")  # a lone nbsp is meant ("10 km"); runs are padding
_SENTENCE_END = re.compile(r"[.!?…][\"”’»)\]]*(?=\s|$)")
_LETTER = re.compile(r"[^\W\d_]")
# What may follow "â€" in windows-1252 mojibake of U+2000–U+203F (bytes 0x80–0xBF).
_CP1252_TAIL = bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore") + "\x81\x8d\x8f\x90\x9d"
# UTF-8 read as windows-1252 or Latin-1 always shows a lead byte as one of Â…ô.
_MOJIBAKE_LEAD = re.compile("[\u00c2-\u00f4]")
_LOST_9D = re.compile(f"â€(?![{re.escape(_CP1252_TAIL)}])")


def clean_entry(
    entry: Entry, settings: CleanSettings, *, timings: dict[str, float] | None = None
) -> Article:
    """Turn one raw entry into an `Article` whose `body_html` is safe to publish.

    `timings`, when given, receives the seconds spent in each stage (for the benchmark).
    """
    lap = _Laps(timings)
    html = _repair(strip_invalid_chars(entry.body_source))
    lap("repair")
    soup = _parsed(html)
    body = soup.body or soup
    lap("parse")
    trackers = tracker_keys(settings.tracker_hosts)
    _transform(body, soup, entry.url_base, trackers, settings)
    lap("transform")
    byline = _text_rules(body, settings)
    lap("text rules")
    markup = body.decode_contents(formatter=_MINIMAL)
    lap("serialise")
    safe = sanitize(markup, policy_for(settings))
    lap("sanitize")
    article = _described(entry, settings, safe, trackers, byline)
    lap("describe")
    # Found once, here, in the final body; each subscriber's links are made when rendering.
    article = replace(article, references=scripture.find_references(safe))
    lap("scripture")
    return article


def _parsed(html: str) -> BeautifulSoup:
    """`html` parsed; refused (`CleanError`) past the element and attribute bounds, and
    flattened past the depth bound."""
    soup = BeautifulSoup(html, "lxml")
    elements, deepest, longest = _shape(soup.body or soup)
    if elements > MAX_ELEMENTS:
        # bs4 finds a tag among its siblings one by one on every move: passes over tens
        # of thousands of tags take time quadratic in their number. No article has them.
        raise CleanError(
            f"{elements:,} elements, more than the {MAX_ELEMENTS:,} an article may have: "
            "not cleaned, so not published"
        )
    if longest is not None:
        element, name, length = longest
        raise CleanError(
            f"a <{element} {name}> of {length:,} characters, more than the {MAX_ATTRIBUTE:,} an "
            "attribute may have: not cleaned, so not published"
        )
    if deepest > MAX_DEPTH:
        soup = BeautifulSoup(_flattened(html), "lxml")
    return soup


def _transform(
    body: Tag, soup: BeautifulSoup, base: str, trackers: frozenset[str], settings: CleanSettings
) -> None:
    """The markup transforms: noise dropped, URLs fixed, embeds replaced, captions made
    figures, wrappers unwrapped."""
    _drop_noise(body, settings)
    _fix_urls(body, base, trackers)
    _replace_embeds(body, soup, settings)
    _captions_to_figures(body, soup)
    _unwrap_all(body, lambda tag: tag.name in UNWRAP_TAGS)


@dataclass(frozen=True, slots=True)
class _Byline:
    """What the text rules took out of the body: the byline's author and role, the dateline."""

    author: str | None
    role: str | None
    dateline: str | None


def _text_rules(body: Tag, settings: CleanSettings) -> _Byline:
    """Byline and dateline taken out, inline text tidied, the block rules applied."""
    author, role = _take_byline(body, settings)
    dateline = _take_dateline(body, settings)
    _tidy_inline(body, settings)
    _block_rules(body, settings)
    return _Byline(author, role, dateline)


def _described(
    entry: Entry, settings: CleanSettings, safe: SafeHtml, trackers: frozenset[str], byline: _Byline
) -> Article:
    """The `Article` of `entry` with its sanitized body `safe`."""
    tree = _tree(safe)
    text, prose = _text_and_prose(tree)
    words = len(text.split())
    return Article(
        source_id=entry.source_id,
        id=entry.id,
        # A title that was all markup is empty: the story's first words stand in (feeds,
        # lists and pages all need one).
        title=plain_line(entry.title) or make_excerpt(prose, 12) or entry.link or entry.id,
        link=safe_url(strip_text_chars(entry.link), WEB_SCHEMES) if entry.link else None,
        author=byline.author or (plain_line(entry.author) if entry.author else None),
        author_role=byline.role,
        dateline=byline.dateline,
        published=entry.published,
        updated=entry.updated,
        categories=_categories(entry.categories),
        body_html=safe,
        text=text,
        excerpt=make_excerpt(prose, settings.excerpt_words),
        word_count=words,
        reading_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        lead_image=_lead_image(tree) or _first_safe_image(entry.images, trackers),
        content_hash=entry.content_hash(),
    )


class _Laps:
    """Records the time since the previous lap under a stage name, when asked to."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter() if into is not None else 0.0

    def __call__(self, stage: str) -> None:
        if self.into is not None:
            now = time.perf_counter()
            self.into[stage] = self.into.get(stage, 0.0) + now - self.last
            self.last = now


def fingerprint(settings: CleanSettings) -> str:
    """Identifies the cleaner, the scripture detector and the settings: a change means
    every article is cleaned again."""
    blob = f"{CLEANER_VERSION}:{scripture.DETECTOR_VERSION}:{settings.model_dump_json()}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def policy_for(settings: CleanSettings) -> Policy:
    return Policy(video_hosts=settings.video_hosts, new_tab=settings.external_links == "new_tab")


def dump_article(article: Article) -> str:
    """JSON for the store."""
    data = asdict(article)
    for key in ("published", "updated"):
        data[key] = data[key].isoformat() if data[key] else None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load_article(text: str, settings: CleanSettings) -> Article:
    """Rebuild a stored `Article`. Nothing read back from disk is trusted: the body passes
    `sanitize` again and the URLs and author the same checks as when cleaned (all fixed
    points, so a current row comes back unchanged)."""
    data = json.loads(text)
    for key in ("published", "updated"):
        data[key] = datetime.fromisoformat(data[key]) if data[key] else None
    data["categories"] = tuple(data["categories"])
    image = Image(**data["lead_image"]) if data["lead_image"] else None
    image_url = safe_url(image.url, WEB_SCHEMES) if image else None
    data["lead_image"] = replace(image, url=image_url) if image and image_url else None
    data["link"] = safe_url(data["link"], WEB_SCHEMES) if data["link"] else None
    data["author"] = plain_line(data["author"]) if data["author"] else None
    data["body_html"] = body = sanitize(data["body_html"], policy_for(settings))
    data["references"] = _stored_references(data.get("references"), body)
    return Article(**data)


def _stored_references(stored: object, body: SafeHtml) -> tuple[scripture.Reference, ...]:
    """The stored references that still fit `body`: each one the detector finds there
    now, at the same offsets, as the same passage. Anything else (a row edited, a body
    that sanitized differently, a reference out of bounds or inside a tag) is dropped."""
    wanted = set(_references_from(stored))
    if not wanted:
        return ()
    return tuple(ref for ref in scripture.find_references(body) if ref in wanted)


def _references_from(stored: object) -> Iterator[scripture.Reference]:
    """The references of a stored list, those of the wrong shape left out."""
    for item in stored if isinstance(stored, list) else ():
        passage = item.get("passage") if isinstance(item, dict) else None
        if not isinstance(passage, dict) or set(passage) - _PASSAGE_FIELDS:
            continue
        numbers = [item.get("start"), item.get("end"), passage.get("chapter")]
        optional = [passage.get(key) for key in ("verse", "end_chapter", "end_verse")]
        if not isinstance(passage.get("book"), str) or not all(
            type(n) is int for n in [*numbers, *(n for n in optional if n is not None)]
        ):
            continue
        yield scripture.Reference(item["start"], item["end"], scripture.Passage(**passage))


_PASSAGE_FIELDS = frozenset({"book", "chapter", "verse", "end_chapter", "end_verse"})


def _repair(text: str) -> str:
    """Undo mojibake (â€œ → “) only where the text looks broken; leave clean text alone."""
    if not _MOJIBAKE_LEAD.search(text):
        return text  # the usual case, decided in microseconds
    return "\n".join(
        _repair_line(line) if _MOJIBAKE_LEAD.search(line) else line for line in text.split("\n")
    )


def _repair_line(line: str) -> str:
    if not ftfy.badness.is_bad(line):
        return line
    # "”" mis-decoded as windows-1252 ends in byte 0x9D, which that codec lacks, so it is
    # usually lost and a bare "â€" remains: put it back so ftfy can decode the sequence.
    return ftfy.fix_encoding(_LOST_9D.sub("â€\x9d", line))


def plain_line(raw: str) -> str:
    """One line of plain text (a title, an author): markup dropped, entities decoded,
    mojibake repaired, whitespace folded, no control or noncharacter left."""
    text = strip_text_chars(raw, repairable=True)
    if "<" in text or "&" in text:  # references decoded: again
        text = strip_text_chars(_tree(text).text_content(), repairable=True)
    return _fold(strip_text_chars(_repair(text)))  # the repair can make them: after it


def plain_text(html: str) -> str:
    """The readable text of sanitized HTML, one paragraph per block."""
    return _text_and_prose(_tree(html))[0]


def _tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")


def _text_and_prose(root: lxml.html.HtmlElement) -> tuple[str, str]:
    """The text of the innermost blocks, one paragraph each; and the same without photo
    captions, which excerpts and stand-in titles are made from (an article that opens with
    a photo would otherwise start its excerpt with the caption). One pass."""
    blocks: list[str] = []
    prose: list[str] = []
    captioned = next(root.iter(*CAPTION_TAGS), None) is not None
    for block in root.iter(*BLOCK_TAGS):
        if next(block.iterdescendants(*BLOCK_TAGS), None) is not None:
            continue  # innermost blocks only
        folded = _fold(block.text_content())
        if not folded:
            continue
        blocks.append(folded)
        if not captioned or not _within(block, CAPTION_TAGS):
            prose.append(folded)
    if not blocks:
        whole = _fold(root.text_content())
        return whole, whole
    text = "\n\n".join(blocks)
    return text, "\n\n".join(prose) or text


def _within(element: lxml.html.HtmlElement, tags: frozenset[str]) -> bool:
    return element.tag in tags or any(True for _ in element.iterancestors(*tags))


def make_excerpt(text: str, words: int) -> str:
    """The first `words` words, cut back to a sentence end when one is near, else "…"."""
    tokens = text.split()
    if len(tokens) <= words:
        return " ".join(tokens)
    cut = " ".join(tokens[:words])
    ends = list(_SENTENCE_END.finditer(cut))
    if ends and ends[-1].end() >= len(cut) // 2:
        return cut[: ends[-1].end()]
    return cut.rstrip(",;:–—- ") + "…"


def _shape(body: Tag) -> tuple[int, int, tuple[str, str, int] | None]:
    """How many elements are below `body`, how deep the deepest is nested, and the first
    attribute value longer than MAX_ATTRIBUTE (tag, name, length), if any. No article
    nests beyond MAX_DEPTH; a hostile one would make the passes below (each asks about a
    tag's subtree, and bs4 walks up the ancestors on every move) take time quadratic in
    its depth."""
    depth = {id(body): 0}
    deepest = 0
    longest = None
    for node in body.descendants:
        if isinstance(node, Tag):
            level = depth[id(node)] = depth[id(node.parent)] + 1
            deepest = max(deepest, level)
            for name, value in node.attrs.items():
                length = len(value) if isinstance(value, str) else sum(map(len, value))
                if length > MAX_ATTRIBUTE and longest is None:
                    longest = (node.name, name, length)
    return len(depth) - 1, deepest, longest


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# bs4's "minimal" formatter, its escaping done by str.replace: bs4's own calls a function
# per "&" (3.7 s for 1.6 MB of them).
_MINIMAL = HTMLFormatter(entity_substitution=_escape)


def _flattened(html: str) -> str:
    """`html` with every element deeper than MAX_DEPTH unwrapped (its text kept), done
    in lxml, where unwrapping moves pointers instead of walking the tree."""
    document = lxml.html.document_fromstring(html)
    depth: dict[lxml.html.HtmlElement, int] = {}
    deep = []
    for element in document.iter():
        parent = element.getparent()
        level = depth[element] = depth[parent] + 1 if parent is not None else 0
        if level > MAX_DEPTH + 1 and isinstance(element.tag, str):  # below <html><body>
            deep.append(element)
    for element in reversed(deep):  # innermost first: each moves only its own children
        element.drop_tag()
    return str(lxml.html.tostring(document, encoding="unicode"))


# bs4 finds an element among its siblings one by one on every move (`extract`, `insert`,
# `replace_with`, `decompose`, `unwrap`): a pass moving many siblings one at a time took
# time quadratic in their number (9,000 tracking pixels: 15 s). The passes below decide
# first and then make their changes with these, in time linear in the siblings.


def _replace_all(changes: Iterable[tuple[PageElement, Sequence[PageElement | str]]]) -> None:
    """Put each element's replacements (none: it is removed) in its place: each parent's
    children are counted once, and changed from the last to the first, so the count of
    those still to change holds."""
    by_parent: dict[int, tuple[Tag, list[tuple[PageElement, Sequence[PageElement | str]]]]] = {}
    for old, new in changes:
        if old.parent is not None:
            by_parent.setdefault(id(old.parent), (old.parent, []))[1].append((old, new))
    for parent, items in by_parent.values():
        where = {id(child): index for index, child in enumerate(parent.contents)}
        items.sort(key=lambda item: where[id(item[0])], reverse=True)
        for old, new in items:
            old.extract(_self_index=where[id(old)])
            if new:
                parent.insert(where[id(old)], *new)


def _remove_with_empty_parents(tags: Sequence[Tag]) -> None:
    """Remove `tags`, then each parent (below the body) they leave with no text, image
    or player, and so on up."""
    while tags:
        parents = {id(tag.parent): tag.parent for tag in tags if tag.parent is not None}
        _replace_all((tag, ()) for tag in tags)
        tags = [
            parent
            for parent in parents.values()
            if parent.name not in {"body", "[document]"}
            and not parent.get_text(strip=True)
            and not parent.find(["img", "iframe"])
        ]


def _unwrap_all(root: Tag, unwrap: Callable[[Tag], bool]) -> None:
    """Replace every element below `root` that `unwrap` picks with its contents, in one
    walk. (bs4's `unwrap` moves each child, one at a time, up one level: a child below
    48 nested `<div>`s moved 48 times.) Document order does not change: each unwrapped
    element leaves the chain of elements, and each element kept whose children changed
    gets its new list, its children their sibling links, once."""
    contents, changed = _unwrapped_contents(root, unwrap)
    if changed:
        _adopt(root, contents)


def _unwrapped_contents(node: Tag, unwrap: Callable[[Tag], bool]) -> tuple[list[PageElement], bool]:
    """`node`'s children with those `unwrap` picks unwrapped (all the way down), and
    whether that changed anything here."""
    kept: list[PageElement] = []
    changed = False
    for child in node.contents:
        if not isinstance(child, Tag):
            kept.append(child)
            continue
        inner, inner_changed = _unwrapped_contents(child, unwrap)
        if not unwrap(child):
            if inner_changed:
                _adopt(child, inner)
            kept.append(child)
            continue
        changed = True
        kept.extend(inner)
        before, after = child.previous_element, child.next_element
        if before is not None:
            before.next_element = after
        if after is not None:
            after.previous_element = before
        child.contents, child.parent = [], None
        child.previous_element = child.next_element = None
        child.previous_sibling = child.next_sibling = None
    return kept, changed


def _adopt(parent: Tag, children: list[PageElement]) -> None:
    parent.contents = children
    last = len(children) - 1
    for index, child in enumerate(children):
        child.parent = parent
        child.previous_sibling = children[index - 1] if index else None
        child.next_sibling = children[index + 1] if index < last else None


def _drop_noise(body: Tag, settings: CleanSettings) -> None:
    prefixes = tuple(settings.remove_classes)
    _replace_all(
        (tag, ())
        for tag in _tags(body)
        if tag.name in NOISE_TAGS or any(c.startswith(prefixes) for c in tag.get("class") or ())
    )


def _fix_urls(body: Tag, base: str, trackers: Collection[str]) -> None:
    """Absolute URLs everywhere; lazy images get their real src; pixels and images from
    the `trackers` (`tracker_keys`) are dropped."""
    dropped = []
    for tag in _tags(body, {"img", "a", "blockquote", "q"}):
        if tag.name == "img":
            if not _fix_image(tag, base, trackers):
                dropped.append(tag)
            continue
        attr = "href" if tag.name == "a" else "cite"
        value = _attr(tag, attr)
        if value and not value.startswith("#"):
            if joined := _join(base, value):
                tag[attr] = joined
            else:
                del tag[attr]
    _remove_with_empty_parents(dropped)


def _fix_image(img: Tag, base: str, trackers: Collection[str]) -> bool:
    """Give `img` its real, absolute `src` and `srcset`; False when it is to be dropped."""
    src = _attr(img, "src")
    if not src or src.startswith("data:") or "lazy" in src or "placeholder" in src:
        real = next((_attr(img, a) for a in LAZY_SRC if img.get(a)), None)
        if real:
            img["src"] = src = real
    lazy_srcset = next((_attr(img, a) for a in LAZY_SRCSET if img.get(a)), None)
    if lazy_srcset:
        img["srcset"] = lazy_srcset
    absolute = _join(base, src) if src and not src.startswith("data:") else ""
    if not absolute or is_tracked(absolute, trackers) or _is_pixel(img):
        return False
    img["src"] = absolute
    if img.get("srcset"):
        srcset = _absolute_srcset(_attr(img, "srcset"), base, trackers)
        if srcset:
            img["srcset"] = srcset
        else:
            del img["srcset"]
    img["loading"] = "lazy"
    img["decoding"] = "async"
    return True


def _is_pixel(img: Tag) -> bool:
    sizes = {str(img.get("width", "")).strip(), str(img.get("height", "")).strip()}
    style = str(img.get("style", "")).replace(" ", "").lower()
    return bool(sizes & {"0", "1", "0px", "1px"}) or "display:none" in style


def _absolute_srcset(srcset: str, base: str, trackers: Collection[str]) -> str:
    """The candidates with absolute URLs, those from a tracker's host left out."""
    candidates = ((_join(base, url), rest) for url, *rest in srcset_candidates(srcset))
    return ", ".join(
        " ".join([url, *rest]) for url, rest in candidates if url and not is_tracked(url, trackers)
    )


def _join(base: str, url: str) -> str:
    """`url` made absolute against `base`; "" when it cannot be read (`http://[x`), so a
    reader could not follow it either."""
    try:
        return urljoin(base, url.strip())
    except ValueError:
        return ""


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:  # `http://[x`
        return ""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# What a browser reads as the dot between a host's labels (UTS #46, like IDNA 2003).
_HOST_DOTS = re.compile("[.\u3002\uff0e\uff61]")


def host_key(host: str) -> str | None:
    """`host` as a browser looks it up: percent-decoded, each label mapped as IDNA maps it
    (case, full-width forms, characters it ignores such as a soft hyphen), any script's
    dots read as dots, without the trailing dot. None for a host IDNA refuses."""
    labels = _HOST_DOTS.split(unquote(host))
    if len(labels) > 1 and not labels[-1]:
        labels.pop()  # "facebook.com." is facebook.com
    try:
        return ".".join(nameprep(label) for label in labels)
    except UnicodeError:
        return None


def tracker_keys(hosts: Iterable[str]) -> frozenset[str]:
    """The configured tracker hosts, compared as `host_key` makes them."""
    return frozenset(key for host in hosts if (key := host_key(host.strip())))


def is_tracked(url: str, trackers: Collection[str]) -> bool:
    """Whether a browser fetching `url` would ask one of the `trackers` (`tracker_keys`)
    or a host under one. Spellings a browser maps to a tracker count as that tracker
    (`www。facebook。com`, `www.facebook.com.`, `%2e`, a backslash before an `@`), and so
    does a host that cannot be read: it cannot be told apart from one."""
    try:  # a browser reads "\\" as "/" in http(s) URLs; Python does not
        host = urlsplit(url.replace("\\", "/")).hostname or ""
    except ValueError:
        return True
    key = host_key(host)
    if key is None:
        return True
    return any(key == tracker or key.endswith("." + tracker) for tracker in trackers)


def _replace_embeds(body: Tag, soup: BeautifulSoup, settings: CleanSettings) -> None:
    """Social embeds and foreign iframes become a plain link to the original."""
    posts = []
    for tag in _tags(body, {"blockquote", "div"}):
        if not tag.get("class"):
            continue
        platform = next((SOCIAL_EMBEDS[c] for c in tag["class"] if c in SOCIAL_EMBEDS), None)
        if platform:
            url = _embed_url(tag)
            posts.append((tag, _link_paragraph(soup, url, f"View the post on {platform}")))
    _replace_all(posts)
    players = []
    for frame in _tags(body, {"iframe"}):
        src = _join("https:", str(frame.get("src", "")))
        if is_video_embed(src, settings.video_hosts):
            keep = {k: _attr(frame, k) for k in ("width", "height", "title") if frame.get(k)}
            frame.attrs = {
                "src": _private_player(src, settings.video_hosts),
                **keep,
                "allowfullscreen": "",
                "loading": "lazy",
                "referrerpolicy": "strict-origin-when-cross-origin",
            }
            frame.clear()
        else:
            players.append((frame, _link_paragraph(soup, src, "Watch the video")))
    _replace_all(players)


NO_COOKIE_HOST = "www.youtube-nocookie.com"


def _private_player(src: str, hosts: Collection[str]) -> str:
    """The player's privacy-enhanced address: YouTube's no-cookie host (when allowed),
    Vimeo's do-not-track, and no `autoplay` on any player. Readers of a church's page are
    not tracked by a player they have not started."""
    parts = urlsplit(src)
    host = _host(src)
    dropped = {"autoplay", "dnt"} if host == "player.vimeo.com" else {"autoplay"}
    query = [p for p in parts.query.split("&") if p and _name(p) not in dropped]
    if host == "player.vimeo.com":  # dnt=1 whatever the upstream page asked for
        query.append("dnt=1")
    netloc = parts.netloc
    if host in {"www.youtube.com", "youtube.com"} and NO_COOKIE_HOST in hosts:
        netloc = NO_COOKIE_HOST
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(query)))


def _name(parameter: str) -> str:
    """A query parameter's name as a player reads it: `AutoPlay=1`, `autoplay%3D1`."""
    return unquote(parameter).split("=", 1)[0].strip().lower()


def _embed_url(tag: Tag) -> str | None:
    for attr in ("data-instgrm-permalink", "cite", "data-href"):
        if tag.get(attr):
            return _attr(tag, attr)
    links = [_attr(a, "href") for a in tag.find_all("a", href=True)]
    status = [href for href in links if "/status/" in href or "/p/" in href]
    return (status or links)[-1] if links else None


def _link_paragraph(soup: BeautifulSoup, url: str | None, label: str) -> list[Tag]:
    """A paragraph linking to `url` (none when it is not http(s))."""
    if not url or _scheme(url) not in {"http", "https"}:
        return []
    paragraph = soup.new_tag("p")
    link = soup.new_tag("a", href=url)
    link.string = label
    paragraph.append(link)
    return [paragraph]


def _captions_to_figures(body: Tag, soup: BeautifulSoup) -> None:
    """`wp-caption` boxes become a `<figure>` of their image and caption; one without an
    image is unwrapped."""
    figures = []
    empty: set[int] = set()
    for box in _tags(body, {"div", "figure"}):
        if "wp-caption" not in (box.get("class") or ()):
            continue
        img = box.find("img")
        if img is None:
            empty.add(id(box))
            continue
        caption = box.find(class_="wp-caption-text")
        figure = soup.new_tag("figure")
        media = img.parent if img.parent is not None and img.parent.name == "a" else img
        figure.append(media.extract())
        if caption is not None and caption.get_text(strip=True):
            figcaption = soup.new_tag("figcaption")
            for child in list(caption.contents):
                figcaption.append(child.extract())
            figure.append(figcaption)
        figures.append((box, [figure]))
    _replace_all(figures)
    if empty:
        _unwrap_all(body, lambda tag: id(tag) in empty)


@functools.lru_cache(maxsize=32)
def _patterns(sources: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(s, re.I) for s in sources)


def _take_byline(body: Tag, settings: CleanSettings) -> tuple[str | None, str | None]:
    first = _first_block(body)
    if first is None:
        return None, None
    match = re.fullmatch(
        r"By\s+(?P<name>[^,]{2,80}?)(?:\s*,\s*(?P<role>.{0,120}?))?", _text_of(first)
    )
    if not match:
        return None, None
    outlet = re.escape(settings.outlet_name)
    name = re.sub(rf"\s*(?:,|for|at)?\s*{outlet}\s*$", "", match["name"]).strip()
    role = re.sub(rf"\s*(?:,|for|at|of)?\s*{outlet}\s*$", "", match["role"] or "").strip()
    if not settings.keep_byline:
        first.decompose()
    return _words(name), _words(role)


def _take_dateline(body: Tag, settings: CleanSettings) -> str | None:
    outlet = re.escape(settings.outlet_name)
    pattern = re.compile(rf"(?P<place>[A-Z][A-Z .,'’/\-]*?)?\s*\(\s*{outlet}\s*\)\s*[–—-]\s*")
    for block in body.find_all("p", limit=3):
        match = pattern.match(_text_of(block))
        if match:
            if not settings.keep_dateline:
                _strip_prefix(block, match.end())
            return strip_text_chars(match["place"] or "").strip()
    return None


def _strip_prefix(block: Tag, length: int) -> None:
    """Remove the first `length` characters of the block's (whitespace-folded) text."""
    remaining = length
    for node in list(block.descendants):
        if remaining <= 0:
            break
        if isinstance(node, NavigableString):
            folded = _SPACES.sub(" ", str(node)).lstrip() if remaining == length else str(node)
            cut = min(remaining, len(folded))
            node.replace_with(folded[cut:])
            remaining -= cut


def _tidy_inline(body: Tag, settings: CleanSettings) -> None:
    """Collapse &nbsp; padding, drop empty inline tags, set link targets."""
    padded = [n for n in body.descendants if isinstance(n, NavigableString) and "\xa0" in n]
    _replace_all((node, [_NBSP_RUN.sub(" ", str(node))]) for node in padded)
    new_tab = settings.external_links == "new_tab"
    empty = []
    for tag in _tags(body, INLINE_TAGS):
        if not tag.get_text(strip=True) and not tag.find("img"):
            empty.append(tag)
        elif new_tab and tag.name == "a":
            tag["target"] = "_blank"
    _replace_all((tag, ()) for tag in empty)


def _block_rules(body: Tag, settings: CleanSettings) -> None:
    """One pass over the blocks: drop empty ones and those matching `remove_paragraphs`
    (promo, footer), and turn ALL-CAPS paragraphs into headings."""
    patterns = _patterns(settings.remove_paragraphs)
    heading = settings.section_heads if settings.section_heads != "keep" else None
    dropped = []
    for block in _tags(body, CHECKED_BLOCKS):
        text = _text_of(block)
        if not text:
            if not block.find(["img", "iframe"]):
                dropped.append(block)
        elif block.name in HEADING_OR_P and any(p.search(text) for p in patterns):
            dropped.append(block)
        elif heading and block.name == "p" and _is_section_head(block, text):
            block.clear()
            block.append(text)
            block.name = heading
    _remove_with_empty_parents(dropped)


def _is_section_head(paragraph: Tag, text: str) -> bool:
    if not (3 <= len(text) <= 100 and text == text.upper() and len(_LETTER.findall(text)) >= 2):
        return False
    return all(child.name in {"strong", "b", "br"} for child in _tags(paragraph))


def _tags(root: Tag, names: Collection[str] | None = None) -> list[Tag]:
    """Every element below `root` (named one of `names`), in document order. A plain walk:
    several times faster than bs4's `find_all` filters on a whole article."""
    return [
        node
        for node in root.descendants
        if isinstance(node, Tag) and (names is None or node.name in names)
    ]


def _first_block(body: Tag) -> Tag | None:
    for block in _tags(body, BLOCK_TAGS):
        if block.get_text(strip=True):
            return block
    return None


def _text_of(tag: Tag) -> str:
    return _fold(tag.get_text())


def _words(text: str) -> str | None:
    """Text read off the markup before `sanitize` (byline, image text), as a line: folded,
    without what is never text; None when nothing is left."""
    return _fold(strip_text_chars(text)) or None


def _fold(text: str) -> str:
    """Whitespace (nbsp included) folded to single spaces, ends trimmed."""
    return _SPACES.sub(" ", text).strip()


def _lead_image(root: lxml.html.HtmlElement) -> Image | None:
    img = root.find(".//img[@src]")
    if img is None:
        return None
    alt = img.get("alt")
    if not alt:
        figure = next(img.iterancestors("figure"), None)
        caption = figure.find("figcaption") if figure is not None else None
        alt = _fold(caption.text_content()) if caption is not None else None
    return Image(
        url=img.get("src"),
        width=_int(img.get("width")),
        height=_int(img.get("height")),
        alt=alt or None,
    )


def _first_safe_image(images: tuple[Image, ...], trackers: Collection[str]) -> Image | None:
    """The feed's first image (enclosure, media:content/thumbnail) that is a real picture
    on a safe URL: not from a tracker's host, not a 1×1 pixel."""
    for image in images:
        url = safe_url(strip_text_chars(image.url), WEB_SCHEMES)
        if url and not is_tracked(url, trackers) and not {image.width, image.height} & {0, 1}:
            alt = _words(image.alt) if image.alt else None
            return replace(image, url=url, alt=alt)
    return None


def _categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """Each category as one plain line (stored entries predate the parser's stripping),
    empty and repeated ones dropped."""
    lines = (plain_line(category) for category in categories)
    return tuple(dict.fromkeys(line for line in lines if line))


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    return " ".join(value) if isinstance(value, list) else str(value or "")


def _int(value: object) -> int | None:
    return int(str(value)) if value and str(value).isdigit() else None

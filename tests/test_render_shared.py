"""The sharing layer (`syndicator.render.shared`): subscribers that agree on what a
template reads share its fragments, entries, channels and pages, cut at holes and filled
per subscriber, and get byte for byte what rendering each alone (`share=False`) gives."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.clean import sanitize
from syndicator.config import SubscriberConfig
from syndicator.models import Story
from syndicator.render import Renderer, plan, scripture, shared
from syndicator.render.environment import BUILTIN_TEMPLATES, ScriptData, js_data, js_string_body
from syndicator.render.views import HOLE_CHAR, Pieces, hole
from syndicator.scripture import find_references

from .conftest import NOW
from .test_render import Site, rendered_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return rendered_site(tmp_path_factory.mktemp("site"))


SHARED_OPTIONS: dict[str, tuple[Any, ...]] = {
    "content": ("full", "excerpt", "title"),
    "excerpt_words": (10, 30, 55),
    "image": ("none", "thumbnail", "full"),
    "image_position": ("left", "right", "top"),
    "link_to": ("original", "hosted", "detail_page"),
    "utm": (True, False),
    "language": ("en", "es", "de", "ko"),
    "date_format": ("long", "full", "d 'de' MMMM y", "%d/%m/%Y", "%A %H:%M", '<%-d> & "%b" %Y'),
    "timezone": ("UTC", "America/Chicago", "Asia/Tokyo"),
    "theme": tuple({"layout": layout, "accent": "#123456"} for layout in ("list", "cards")),
    "per_page": (3, 10),
    "scripture": (
        {"link": "none"},
        {"link": "biblegateway", "version": "NIV"},
        {"link": "biblegateway", "version": "KJV"},
        {"link": "youversion"},  # the default for its language
        {"link": "youversion", "version": "NIV"},
    ),
}


def citing(stories: list[Story]) -> list[Story]:
    """The stories, each citing scripture at its end (the sample cites none)."""
    cited = []
    for story in stories:
        body = sanitize(f"{story.article.body_html}<p>As John 3:16 and Psalm 23 say.</p>")
        article = replace(story.article, body_html=body, references=find_references(body))
        assert len(article.references) >= 2
        cited.append(replace(story, article=article, version=f"{story.version}-cited"))
    return cited


@pytest.mark.parametrize("seed", range(6))
def test_shared_fragments_give_the_bytes_of_rendering_alone(site: Site, seed: int) -> None:
    """Subscribers share a fragment when they agree on the options its template reads
    (`fragment_key`). A random subscriber and its twins, each differing from it in one
    option only, rendered in the pipeline's order with sharing: every file is byte for byte
    what rendering each alone gives. A sharing key missing an option a template reads
    lets a twin reuse the wrong fragment, and fails here."""
    rng = random.Random(seed)
    first = {name: rng.choice(values) for name, values in SHARED_OPTIONS.items()}
    first["content"] = SHARED_OPTIONS["content"][seed % 3]
    choices = [first] + [
        {**first, name: value}
        for name, values in SHARED_OPTIONS.items()
        for value in values
        if value != first[name]
    ]
    base = site.subscriber("grace").model_dump()
    subscribers = [
        SubscriberConfig.model_validate(
            {
                **base,
                **options,
                "id": f"church-{number}",
                # Every character that HTML, XML text and XML attributes escape differently.
                "name": f"Church {number} & \"Sons\" <Chapel> 'Ü'",
                "footer": f'Shared with church {number} & <friends> "here".',
                # URLs refuse raw " < > (config): & and ' are what is left to escape.
                "detail_page_url": f"https://church-{number}.example.org/news?a=1&b='x'%22",
                "site_url": f"https://church-{number}.example.org/?a=1&b='x'&c=%3C",
            }
        )
        for number, options in enumerate(choices)
    ]
    # One story removed upstream since: its page is a "no longer available" page.
    # Some stories cite scripture, the others not.
    stories = [
        replace(site.stories[0], presence="removed"),
        *citing(site.stories[1:5]),
        *site.stories[5:],
    ]
    by_slug = {s.slug: s for s in stories}
    shared = Renderer(site.config.path.parent, site.config.site)
    alone = Renderer(site.config.path.parent, site.config.site, share=False)
    for subscriber in sorted(subscribers, key=shared.sort_key):
        decided = plan(subscriber, stories, by_slug, {stories[0].slug: None}, NOW, "salt")
        assert f"{subscriber.id}/articles/{stories[0].slug}.html" in alone.render(decided)
        together, apart = shared.render(decided), alone.render(decided)
        assert together.keys() == apart.keys()
        for name, data in apart.items():
            assert together[name] == data, f"{name} differs when shared"


def test_a_site_template_showing_dates_in_feed_items_gets_each_subscribers_dates(
    site: Site, tmp_path: Path
) -> None:
    """Dates are holes in shared fragments. A site `_feed_item.html` that shows one puts
    a date hole into feed content, which shared feed entries cannot fill per story: those
    subscribers' feeds are made on their own, with their own dates, not an error."""
    folder = tmp_path / "templates"
    folder.mkdir()
    builtin = (BUILTIN_TEMPLATES / "_feed_item.html").read_text()
    (folder / "_feed_item.html").write_text(builtin + "<p>On {{ item.date_text }}</p>\n")
    base = site.subscriber("grace").model_dump()
    twins = [
        SubscriberConfig.model_validate(
            {**base, "id": f"twin-{n}", "date_format": fmt, "timezone": "Asia/Tokyo"}
        )
        for n, fmt in enumerate(["%d/%m/%Y", "%Y-%m-%d %H:%M", "%d/%m/%Y"])
    ]
    by_slug = {s.slug: s for s in site.stories}
    shared = Renderer(tmp_path, site.config.site)
    alone = Renderer(tmp_path, site.config.site, share=False)
    for twin in twins:
        decided = plan(twin, site.stories, by_slug, {}, NOW, "salt")
        together, apart = shared.render(decided), alone.render(decided)
        assert together == apart
        assert "On " in together[f"{twin.id}/rss.xml"].decode()
    assert HOLE_CHAR not in together[f"{twins[-1].id}/feed.json"].decode()


@pytest.mark.parametrize("field", ["title", "guid", "category", "image type"])
def test_a_story_holding_the_feed_placeholder_character_is_not_filled_in(
    site: Site, field: str
) -> None:
    """Shared feed entries mark subscriber values with a Unicode noncharacter; a story whose
    own text holds that very mark (stored before the parser stripped it) must neither
    fail to render nor come out with a subscriber's name put in its place."""
    mark = "\ufdd0n\ufdd0"
    first = site.stories[0]
    article = first.article
    assert article.lead_image is not None
    odd_article = {
        "title": replace(article, title=f"Title {mark} here"),
        "guid": replace(article, id=f"{article.id}{mark}"),
        "category": replace(article, categories=(*article.categories, f"C{mark}")),
        "image type": replace(
            article, lead_image=replace(article.lead_image, mime_type=f"image/{mark}")
        ),
    }[field]
    odd = replace(first, article=odd_article)
    stories = [odd, *site.stories[1:]]
    subscriber = site.subscriber("grace")
    twin = SubscriberConfig.model_validate(
        {**subscriber.model_dump(), "id": "twin", "name": "Twin Church"}
    )
    renderer = Renderer(site.config.path.parent, site.config.site)
    alone = Renderer(site.config.path.parent, site.config.site, share=False)
    by_slug = {s.slug: s for s in stories}
    for sub in (subscriber, twin):
        decided = plan(sub, stories, by_slug, {}, NOW, "salt")
        files = renderer.render(decided)
        assert files == alone.render(decided)  # as if nothing were shared
        for name in (f"{sub.id}/rss.xml", f"{sub.id}/atom.xml"):
            if field == "title":
                titles = [e.title for e in feedparser.parse(files[name]).entries]
                assert f"Title {mark} here" in titles, name


FILL_VALUES = {
    "i": "grace",
    "n": "Grace & Co",
    "f": "Footer",
    "s": "https://g.example/",
    "d": "",
    "t": "1 mai",
}


@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=["Cs"])),
            st.sampled_from(sorted(FILL_VALUES)).map(hole),
        )
    )
)
def test_pieces_put_each_value_in_its_hole(pieces: list[str]) -> None:
    expected = "".join(FILL_VALUES[p[1]] if p.startswith(HOLE_CHAR) else p for p in pieces)
    split = Pieces.split("".join(pieces))
    assert split is not None
    assert split.fill(FILL_VALUES) == expected
    assert split.text == "".join(pieces)
    encoded = {name: value.encode() for name, value in FILL_VALUES.items()}
    assert split.encoded().fill(encoded) == expected.encode()


@pytest.mark.parametrize(
    "mangled",
    [hole("n").upper(), hole("n")[:2], hole("n")[1:], hole("n") + hole("q"), "\0nx\0"],
)
def test_a_mangled_hole_is_never_filled(mangled: str) -> None:
    """A template that transformed a hole (`|upper`, a slice) must not get a neighbour's
    value or an error: the fragment cannot be cut, and the renderer renders that subscriber
    alone."""
    assert Pieces.split(f"<p>{hole('i')} {mangled} {hole('s')}</p>") is None


TEXTS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]))


@given(TEXTS, TEXTS)
def test_script_pieces_join_into_the_script_text_of_the_whole(left: str, right: str) -> None:
    """The embed's items are filled from pieces escaped one by one (`js_string_body`); that
    gives the escaping of the whole unless a piece ends with `<` (then `</`, `<!` could
    form across the join, and the renderer escapes the whole instead)."""
    joined = js_string_body(left) + js_string_body(right)
    if not left.endswith("<"):
        assert joined == js_string_body(left + right)
    assert str(js_data(left + right)) == f'"{js_string_body(left + right)}"'


def test_script_pieces_cut_after_a_less_than_sign_would_not_escape_a_closing_tag() -> None:
    assert js_string_body("<") + js_string_body("/script>") != js_string_body("</script>")
    assert "</" not in js_string_body("</script>")


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(TEXTS, st.integers(), st.none(), st.lists(TEXTS, max_size=3)),
        max_size=6,
    )
)
def test_script_data_made_from_literals_is_what_js_data_makes(members: dict[str, Any]) -> None:
    literals = {key: str(js_data(value)) for key, value in members.items()}
    assert js_data(ScriptData.of(members, literals)) == js_data(members)


def test_caches_that_keep_almost_nothing_still_give_the_bytes_of_rendering_alone(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything the sharing layer keeps between subscribers is bounded (`cache.Bounded`:
    the least recently used dropped past a limit). With every limit at its least, each
    cache holding one entry, what was dropped is made again: every file is still byte for
    byte what rendering alone gives."""
    for limit in (
        "FRAGMENT_CHARS",
        "FILE_BYTES",
        "ENTRY_CHARS",
        "SHELLS_KEPT",
        "STYLES_KEPT",
        "DATE_OPTIONS_KEPT",
        "CHANNELS_KEPT",
    ):
        monkeypatch.setattr(shared, limit, 1)
    monkeypatch.setattr(scripture, "_linked", scripture._Linked(1))
    base = site.subscriber("grace").model_dump()
    twins = [
        SubscriberConfig.model_validate({**base, **options, "id": f"twin-{n}"})
        for n, options in enumerate(
            [
                {},
                {"link_to": "detail_page", "detail_page_url": "https://g.example/news"},
                {"language": "es", "date_format": "%d/%m/%Y"},
                {"content": "full", "theme": {"layout": "cards"}},
                {"content": "full", "scripture": {"link": "biblegateway", "version": "NIV"}},
                {"content": "full", "scripture": {"link": "biblegateway", "version": "ESV"}},
                {"scripture": {"link": "youversion"}, "link_to": "hosted"},
                {},
            ]
        )
    ]
    stories = [*site.stories[:3], *citing(site.stories[3:6]), *site.stories[6:]]
    by_slug = {s.slug: s for s in stories}
    together = Renderer(site.config.path.parent, site.config.site)
    alone = Renderer(site.config.path.parent, site.config.site, share=False)
    for twin in [*twins, *twins]:
        decided = plan(twin, stories, by_slug, {}, NOW, "salt")
        assert together.render(decided) == alone.render(decided), twin.id


def test_subscribers_with_the_same_scripture_choice_share_its_work_and_no_other(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second subscriber with the same provider and translation renders no story
    fragment and links no body again; one with another translation does both, for the
    stories that cite scripture only."""
    monkeypatch.setattr(scripture, "_linked", scripture._Linked(scripture.LINKED_CHARS))
    made: list[Story] = []
    linked: list[str] = []
    render_fragment = shared.SharedOutputs.render_fragment
    link_references = scripture.link_references

    def counted_render(self: shared.SharedOutputs, name: str, story: Story, *args: Any) -> str:
        made.append(story)
        return render_fragment(self, name, story, *args)

    def counted_link(*args: Any) -> Any:
        linked.append("")
        return link_references(*args)

    monkeypatch.setattr(shared.SharedOutputs, "render_fragment", counted_render)
    monkeypatch.setattr(scripture, "link_references", counted_link)
    base = site.subscriber("grace").model_dump()
    # Some stories cite nothing: those the other translation shares too.
    stories = [*citing(site.stories[:4]), *site.stories[4:]]
    assert any(not story.article.references for story in stories)
    by_slug = {s.slug: s for s in stories}
    renderer = Renderer(site.config.path.parent, site.config.site)
    counts = []
    for n, version in enumerate(("NIV", "NIV", "KJV")):
        options = {"content": "full", "scripture": {"link": "biblegateway", "version": version}}
        subscriber = SubscriberConfig.model_validate({**base, **options, "id": f"church-{n}"})
        assert "biblegateway.com" in str(
            renderer.render(plan(subscriber, stories, by_slug, {}, NOW, "salt"))
        )
        counts.append((len(made), len(linked)))
    (made_first, linked_first), (made_twin, linked_twin), (made_other, linked_other) = counts
    assert made_first and linked_first
    assert (made_twin, linked_twin) == (made_first, linked_first)  # all shared
    assert made_other > made_twin and linked_other == 2 * linked_first
    assert all(story.article.references for story in made[made_twin:])

"""/join on a real server over real files: a church builds and sends a request, follows it
on its private link, and is refused when it floods, types hostile values or guesses."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from markupsafe import escape

from syndicator.pipeline import run_once
from syndicator.store import Store
from syndicator.web import join

from .conftest import NOW, Console, csrf_token_in
from .test_web_console import replace

HOSTILE = '<script>alert("x")</script>'
CHURCH = {
    "name": "Hope Valley Fellowship",
    "site_url": "https://hopevalley.example.org/",
    "email": "office@hopevalley.example.org",
    "categories": ["Israel"],
    "limit": "4",
    "content": "excerpt",
    "theme.accent": "#aa0000",
    "link_to": "original",
}


class Church:
    """A browser on /join: its own cookies (the form's CSRF token), no admin session."""

    def __init__(self, base: str) -> None:
        self.client = httpx2.Client(base_url=base)

    def token(self, path: str = "/join") -> str:
        return csrf_token_in(self.client.get(path).text)

    def send(self, **fields: Any) -> Any:
        data = {"csrf_token": self.token(), **CHURCH, **fields}
        return self.client.post("/join", data=data)

    def ask(self, **fields: Any) -> str:
        """Send a request; its private link's path."""
        answer = self.send(**fields)
        assert answer.status_code == 303, answer.text
        location: str = answer.headers["location"]
        assert location.startswith("/join/r/")
        return location


@pytest.fixture
def church(console: Console) -> Iterator[Church]:
    visitor = Church(console.base)
    yield visitor
    visitor.client.close()


def requests_in(console: Console) -> list[Any]:
    with Store(console.config.database_path) as store:
        return store.join_requests("pending")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_join_is_not_found_while_self_service_is_off(console: Console, church: Church) -> None:
    main = console.config_path
    main.write_text(main.read_text().replace("self_service = true", "self_service = false"))
    assert church.client.get("/join").status_code == 404
    assert church.client.post("/join", data=CHURCH).status_code == 403  # CSRF first


def test_a_church_sends_a_request_and_its_private_link_says_it_waits(
    console: Console, church: Church
) -> None:
    link = church.ask()
    page = church.client.get(link)
    assert page.status_code == 200
    assert "Waiting for approval" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    [request] = requests_in(console)
    assert (request.name, request.email) == (CHURCH["name"], CHURCH["email"])
    assert request.options == {
        "categories": ["Israel"], "limit": 4, "content": "excerpt",
        "theme.accent": "#aa0000", "link_to": "original",
    }  # fmt: skip
    token = link.rsplit("/", 1)[1]
    database = console.config.database_path.read_bytes()
    assert token.encode() not in database and join.hash_token(token).encode() in database
    assert not (console.config.subscribers_dir / "hope-valley-fellowship.toml").exists()


def test_the_builder_offers_each_category_with_a_sample_headline_and_a_privacy_note(
    console: Console, church: Church
) -> None:
    assert 'name="categories" value="Israel"' not in church.client.get("/join").text
    run_once(console.config, NOW)  # the samples are read again once the store changed
    with Store(console.config.database_path) as store:
        israel = next(a for a in store.articles() if "Israel" in a.entry.categories)
    page = church.client.get("/join").text
    assert 'name="categories" value="Israel"' in page
    assert str(escape(join._short(israel.entry.title))) in page  # cut at a word: boxes stay short
    assert "Privacy:" in page and "deleted with your request" in page
    for key in join.KEYS:
        assert f'name="{key}"' in page
    accent = console.config.defaults.theme.accent
    assert (
        f'name="theme.accent" aria-describedby="f-theme-accent-help" type="color" value="{accent}"'
        in page
    )


def test_a_bad_value_is_refused_next_to_its_field_and_what_was_typed_stays(
    console: Console, church: Church
) -> None:
    answer = church.send(limit="0", email="not an address", name="Kept Name")
    assert answer.status_code == 400
    assert "Nothing was sent" in answer.text
    assert 'id="f-limit-error"' in answer.text and 'id="f-email-error"' in answer.text
    assert "is not an email address" in answer.text
    assert 'value="Kept Name"' in answer.text
    assert requests_in(console) == []


def test_a_filled_honeypot_is_refused_and_nothing_is_stored(
    console: Console, church: Church
) -> None:
    answer = church.send(**{join.HONEYPOT: "http://spam.example/"})
    assert answer.status_code == 400
    assert requests_in(console) == []


def test_a_flood_from_one_address_is_refused_within_the_limit_with_the_wait(
    console: Console, church: Church
) -> None:
    limit = join.SUBMITS[0]
    for number in range(limit):
        church.ask(name=f"Church {number}")
    answer = church.send(name="One too many")
    assert answer.status_code == 429
    assert "Too many requests from your address. Try again in 60 minutes." in answer.text
    assert len(requests_in(console)) == limit


def test_past_the_cap_of_pending_requests_new_ones_are_refused(
    console: Console, church: Church, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(join, "MAX_PENDING", 1)
    church.ask()
    answer = church.send(name="Second Church")
    assert answer.status_code == 503
    assert "Too many requests are waiting for approval" in answer.text
    assert len(requests_in(console)) == 1


def test_a_form_without_its_cookie_token_is_refused(console: Console, church: Church) -> None:
    token = church.token()
    with httpx2.Client(base_url=console.base) as other:
        answer = other.post("/join", data={"csrf_token": token, **CHURCH})
    assert answer.status_code == 403
    assert requests_in(console) == []


def test_a_link_never_given_is_not_found(console: Console, church: Church) -> None:
    church.ask()
    answer = church.client.get("/join/r/" + "A" * 43)
    assert answer.status_code == 404
    assert "This link does not work" in answer.text


def test_what_a_church_typed_is_escaped_on_its_page(console: Console, church: Church) -> None:
    link = church.ask(name=HOSTILE)
    page = church.client.get(link).text
    assert HOSTILE not in page and str(escape(HOSTILE)) in page
    refused = church.send(name=HOSTILE, limit="x" + HOSTILE)
    assert HOSTILE not in refused.text


def test_the_builder_previews_its_draft_and_writes_nothing(
    console: Console, church: Church
) -> None:
    run_once(console.config, NOW)
    folder = console.config_path.parent
    before = _files(folder), _files(console.config.site.output_dir)
    data = {"csrf_token": church.token(), **CHURCH, "categories": [], "limit": "2"}
    answer = church.client.post("/join/preview", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    frames = answer.json()["frames"]
    assert frames["light"].startswith("/join/preview/")
    frame = church.client.get(frames["iframe"])
    assert frame.status_code == 200
    assert "sandbox" in frame.headers["content-security-policy"]
    # The sample church page, itself sandboxed, frames the iframe page: Chromium refuses
    # it under any frame-ancestors or X-Frame-Options, as in the console's preview.
    light = church.client.get(frames["light"])
    assert "x-frame-options" not in light.headers and "x-frame-options" not in frame.headers
    assert frame.text.count('<li class="syn-item">') == 2
    assert (_files(folder), _files(console.config.site.output_dir)) == before
    assert requests_in(console) == []
    with httpx2.Client(base_url=console.base) as stranger:  # another address would differ
        assert stranger.post("/join/preview", data=data).status_code == 403


def test_a_wrong_preview_value_is_named_in_the_forms_words(
    console: Console, church: Church
) -> None:
    data = {"csrf_token": church.token(), **CHURCH, "limit": "500"}
    answer = church.client.post("/join/preview", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0].startswith("Stories listed:")


# -- the admin's side: /admin/requests -------------------------------------------------


def approve(console: Console, subscriber_id: str = "") -> Any:
    [request] = requests_in(console)
    return console.post(f"/admin/requests/{request.id}/approve", {"id": subscriber_id})


def audit_actions(console: Console) -> list[tuple[str, str]]:
    with Store(console.config.database_path) as store:
        return [(action, target) for _, _, action, target, _ in store.audit_entries(50)]


def test_an_approved_request_becomes_a_subscriber_and_its_link_gives_the_code(
    console: Console, church: Church
) -> None:
    link = church.ask()
    listed = console.get("/admin/requests").text
    assert CHURCH["name"] in listed and CHURCH["email"] in listed
    assert 'value="hope-valley-fellowship"' in listed  # the id, made from the name
    assert approve(console).status_code == 303
    subscriber = next(s for s in console.config.subscribers if s.id == "hope-valley-fellowship")
    assert (subscriber.name, subscriber.limit, subscriber.categories) == (
        CHURCH["name"], 4, ("Israel",),
    )  # fmt: skip
    assert subscriber.theme.accent == "#aa0000"
    assert ("approve request", "hope-valley-fellowship") in audit_actions(console)
    page = church.client.get(link)
    assert page.status_code == 200 and "Waiting for approval" not in page.text
    assert "hope-valley-fellowship/embed.js" in page.text
    assert "hope-valley-fellowship/rss.xml" in page.text
    assert "No request is waiting" in console.get("/admin/requests").text


def test_the_admin_may_choose_the_id_and_a_taken_one_is_refused(
    console: Console, church: Church
) -> None:
    church.ask()
    refused = approve(console, "grace-church")
    assert refused.status_code == 400 and "already exists" in refused.text
    assert approve(console, "hope-valley").status_code == 303
    assert (console.config.subscribers_dir / "hope-valley.toml").exists()


def test_a_declined_churchs_link_says_so_with_the_reason_and_its_email_is_gone(
    console: Console, church: Church
) -> None:
    link = church.ask()
    [request] = requests_in(console)
    answer = console.post(f"/admin/requests/{request.id}/decline", {"reason": "Not a church"})
    assert answer.status_code == 303
    page = church.client.get(link)
    assert page.status_code == 410
    assert "declined" in page.text and "Not a church" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert CHURCH["email"].encode() not in console.config.database_path.read_bytes()
    assert ("decline request", CHURCH["name"]) in audit_actions(console)


def test_a_removed_churchs_link_stops_working(console: Console, church: Church) -> None:
    link = church.ask()
    approve(console)
    assert console.post("/admin/subscribers/hope-valley-fellowship/remove").status_code == 303
    assert church.client.get(link).status_code == 404
    other = church.ask(name="Second Church")
    approve(console)
    (console.config.subscribers_dir / "second-church.toml").unlink()  # removed by hand
    assert church.client.get(other).status_code == 410
    assert church.client.get(other).status_code == 404  # and the request is gone


def change(church: Church, link: str, **fields: Any) -> Any:
    page = church.client.get(link).text
    version = re.search(r'name="version" value="([^"]*)"', page)
    assert version
    data = {"csrf_token": csrf_token_in(page), "version": version.group(1), **CHURCH, **fields}
    data.pop("email")
    return church.client.post(link, data=data)


def test_a_church_changes_its_own_limit_on_its_link(console: Console, church: Church) -> None:
    link = church.ask()
    approve(console)
    answer = change(church, link, limit="7")
    assert answer.status_code == 303 and answer.headers["location"] == link + "?done=saved"
    subscriber = next(s for s in console.config.subscribers if s.id == "hope-valley-fellowship")
    assert subscriber.limit == 7 and subscriber.theme.accent == "#aa0000"
    refused = change(church, link, limit="0")
    assert refused.status_code == 400 and 'id="f-limit-error"' in refused.text


def test_an_approved_churchs_change_is_previewed_over_its_file_and_writes_nothing(
    console: Console, church: Church
) -> None:
    link = church.ask()
    approve(console)
    subscriber_file = console.config.subscribers_dir / "hope-valley-fellowship.toml"
    replace(subscriber_file, 'footer = "Shared by the admin"\n' + subscriber_file.read_text())
    run_once(console.config, NOW)
    folder = console.config_path.parent
    before = _files(folder), _files(console.config.site.output_dir)
    data = {"csrf_token": church.token(link), **CHURCH, "limit": "2"}
    json = {"Accept": "application/json"}

    answer = church.client.post(link + "/preview", data=data, headers=json)

    assert answer.status_code == 200, answer.text
    frame = church.client.get(answer.json()["frames"]["iframe"])
    assert frame.text.count('<li class="syn-item">') == 2  # the form's limit
    assert "Shared by the admin" in frame.text  # and what its file sets beyond the form
    assert (_files(folder), _files(console.config.site.output_dir)) == before
    bad = church.client.post(link + "/preview", data={**data, "limit": "0"}, headers=json)
    assert bad.status_code == 422 and bad.json()["errors"][0].startswith("Stories listed:")
    with httpx2.Client(base_url=console.base) as stranger:
        assert stranger.post(link + "/preview", data=data).status_code == 403
    unknown = church.client.post("/join/r/not-a-link/preview", data=data, headers=json)
    assert unknown.status_code == 404
    waiting = church.ask(name="Other Church", email="other@example.org")
    assert church.client.post(waiting + "/preview", data=data, headers=json).status_code == 409


def test_a_new_name_waits_for_the_admins_approval(console: Console, church: Church) -> None:
    link = church.ask()
    approve(console)
    assert change(church, link, name="Hope Valley Church").status_code == 303
    assert "waits for an admin" in church.client.get(link).text
    subscriber_file = console.config.subscribers_dir / "hope-valley-fellowship.toml"
    assert "Hope Valley Fellowship" in subscriber_file.read_text()
    assert "A new name or website" in console.get("/admin/requests").text
    approve(console)
    assert 'name = "Hope Valley Church"' in subscriber_file.read_text()


def test_one_churchs_link_cannot_read_or_change_another(console: Console, church: Church) -> None:
    first = church.ask()
    approve(console)
    second = church.ask(name="Other Church", email="other@example.org")
    approve(console)
    page = church.client.get(first).text
    assert "Other Church" not in page and "other-church" not in page
    change(church, first, limit="9", id="other-church", preview_of="other-church")
    config = console.config
    assert next(s for s in config.subscribers if s.id == "other-church").limit == 4
    assert next(s for s in config.subscribers if s.id == "hope-valley-fellowship").limit == 9
    assert church.client.get(second).status_code == 200


def test_what_a_church_typed_is_escaped_on_the_requests_page(
    console: Console, church: Church
) -> None:
    church.ask(name=HOSTILE, categories=[HOSTILE])
    listed = console.get("/admin/requests").text
    assert HOSTILE not in listed and str(escape(HOSTILE)) in listed


def test_a_private_link_never_reaches_the_servers_logs(console: Console, church: Church) -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    access, keep = logging.getLogger("uvicorn.access"), Keep()
    level = access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)  # `syndicator web` logs less; the filter is there anyway
    try:
        link = church.ask()
        church.client.get(link)
        church.client.get(link + "?done=saved")
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    token = link.rsplit("/", 1)[1]
    assert sum('"GET /join/r/… HTTP/1.1" 200' in line for line in lines) == 1, lines
    assert not any(token in line for line in lines)
    assert not any(token in line for line in console.client.get("/admin/audit").text.splitlines())


# -- email notices through [web.smtp], to a real SMTP server on 127.0.0.1 --------------


class Mailbox:
    """What a local aiosmtpd server received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox(console: Console) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1, named in the console's config as [web.smtp]."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    main = console.config_path
    main.write_text(
        main.read_text() + f'\n[web.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "news@example.org"\n'
    )
    yield box
    controller.stop()


def test_an_approved_church_is_told_by_email_without_its_link(
    console: Console, church: Church, mailbox: Mailbox
) -> None:
    link = church.ask()
    assert approve(console).headers["location"] == "/admin/requests?done=approved"
    [sent] = mailbox.messages
    assert sent.rcpt_tos == [CHURCH["email"]] and sent.mail_from == "news@example.org"
    text = sent.content.decode()
    assert "is approved" in text and "/join/r/" in text
    assert link.rsplit("/", 1)[1] not in text


def test_a_declined_church_is_told_the_reason_by_email(
    console: Console, church: Church, mailbox: Mailbox
) -> None:
    church.ask()
    [request] = requests_in(console)
    console.post(f"/admin/requests/{request.id}/decline", {"reason": "Outside our region"})
    [sent] = mailbox.messages
    assert "declined" in sent.content.decode() and "Outside our region" in sent.content.decode()


def test_an_email_that_cannot_be_sent_is_said_and_the_decision_stands(
    console: Console, church: Church, mailbox: Mailbox
) -> None:
    main = console.config_path
    main.write_text(re.sub(r"port = \d+", "port = 1", main.read_text()))
    church.ask()
    answer = approve(console)
    assert answer.headers["location"] == "/admin/requests?done=approved&mail=unsent"
    assert "was not sent" in console.get(answer.headers["location"]).text
    assert ("email not sent", "hope-valley-fellowship") in audit_actions(console)
    assert any(s.id == "hope-valley-fellowship" for s in console.config.subscribers)


def test_without_smtp_no_email_is_sent_and_the_link_is_the_only_channel(
    console: Console, church: Church
) -> None:
    church.ask()
    assert console.config.web.smtp is None
    assert approve(console).headers["location"] == "/admin/requests?done=approved"


def test_removing_a_church_by_the_cli_or_by_hand_deletes_its_request_and_email(
    console: Console, church: Church
) -> None:
    from syndicator.admin import remove_subscriber

    church.ask()
    approve(console)
    church.ask(name="Second Church")
    approve(console)
    remove_subscriber(console.config, "hope-valley-fellowship")  # as `subscribers remove`
    (console.config.subscribers_dir / "second-church.toml").unlink()  # by hand
    console.get("/admin/requests")  # the page notices
    with Store(console.config.database_path) as store:
        left = store._db.execute("SELECT count(*) FROM join_requests").fetchone()[0]
    assert left == 0


def test_the_same_draft_sent_again_is_not_rendered_again(
    console: Console, church: Church, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_once(console.config, NOW)
    data = {"csrf_token": church.token(), **CHURCH, "limit": "2"}
    json = {"Accept": "application/json"}
    first = church.client.post("/join/preview", data=data, headers=json).json()["token"]
    again = church.client.post("/join/preview", data=data, headers=json).json()["token"]
    changed = church.client.post("/join/preview", data={**data, "limit": "3"}, headers=json)
    assert first == again != changed.json()["token"]


def test_a_flood_of_previews_is_refused_with_the_wait(
    console: Console, church: Church, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(join, "PREVIEWS", (2, join.PREVIEWS[1]))
    run_once(console.config, NOW)
    data = {"csrf_token": church.token(), **CHURCH}
    json = {"Accept": "application/json"}
    answers = [
        church.client.post("/join/preview", data={**data, "limit": str(n)}, headers=json)
        for n in (1, 2, 3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["errors"] == [
        "Too many previews from your address. Try again in 1 minute."
    ]


def test_a_church_picks_where_bible_references_link_and_a_wrong_translation_is_said(
    console: Console, church: Church
) -> None:
    page = church.client.get("/join").text
    assert '<option value="youversion">YouVersion (bible.com)</option>' in page
    assert '<option value="" selected>Default (by language)</option>' in page
    assert '<option value="none" selected>no links</option>' in page

    refused = church.send(**{"scripture.link": "youversion", "scripture.version": "NIV84"})
    assert refused.status_code == 400
    assert 'id="f-scripture-version-error"' in refused.text
    assert "&#39;NIV84&#39; is not a version YouVersion (bible.com) has" in refused.text
    assert requests_in(console) == []

    church.ask(**{"scripture.link": "youversion", "scripture.version": "nvi-pt"})
    [request] = requests_in(console)
    assert (request.options["scripture.link"], request.options["scripture.version"]) == (
        "youversion",
        "nvi-pt",
    )

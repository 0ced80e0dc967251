"""Make found references into links, per subscriber, without trusting stored offsets."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from ..clean.sanitize import Policy, sanitize
from ..models import SafeHtml
from .detect import Passage, Reference, find_references


def link_references(
    body: SafeHtml,
    refs: Sequence[Reference],
    url_for: Callable[[Passage], str],
    policy: Policy,
) -> SafeHtml:
    """`body` with each reference wrapped in `<a href="{url_for(passage)}" rel="noopener">`
    (and `target="_blank"` under `policy.new_tab`).

    A reference is linked only if searching `body` now finds it at the same place with the
    same passage: one out of bounds, inside a tag or a link, or from an older detector is
    skipped. The result is `sanitize`'s, so the one sanitizer stays the only maker of
    `SafeHtml`, and linking an already linked body changes nothing.
    """
    if not refs:
        return body
    found = set(find_references(body))
    target = ' target="_blank"' if policy.new_tab else ""
    pieces: list[str] = []
    last = 0
    for ref in sorted(refs, key=lambda ref: (ref.start, ref.end)):
        if ref not in found or ref.start < last:
            continue
        href = html.escape(url_for(ref.passage), quote=True)
        pieces += [body[last : ref.start], f'<a href="{href}" rel="noopener"{target}>']
        pieces += [body[ref.start : ref.end], "</a>"]
        last = ref.end
    if not pieces:
        return body
    pieces.append(body[last:])
    return sanitize("".join(pieces), policy)

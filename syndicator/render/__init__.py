"""The render stage: every subscriber's outputs as bytes, from shared fragments.

`plan` (pure) decides what a subscriber shows and fingerprints its inputs; `Renderer`
turns a plan into files. The built-in templates live in the top-level `templates/` (inside
the package once installed: `environment.BUILTIN_TEMPLATES`); admins override them per site
(`config/templates/`) or per subscriber (`config/templates/subscribers/<id>/`).
"""

from .codes import PASTE_ADVICE, embed_codes
from .environment import make_environment
from .plan import Plan, Selections, article_path, page_tokens, plan, settings_digest
from .renderer import Renderer
from .views import urls_for

__all__ = [
    "PASTE_ADVICE",
    "Plan",
    "Renderer",
    "Selections",
    "article_path",
    "embed_codes",
    "make_environment",
    "page_tokens",
    "plan",
    "settings_digest",
    "urls_for",
]

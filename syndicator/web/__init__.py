"""The web console (`syndicator web`): admins sign in and run Syndicator from a browser,
over the same config files, store and renderer as the CLI. `create_app` builds it."""

from .app import create_app

__all__ = ["create_app"]

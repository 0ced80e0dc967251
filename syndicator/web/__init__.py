"""The web console (`syndicator web`): admins manage sources and subscribers in a browser."""

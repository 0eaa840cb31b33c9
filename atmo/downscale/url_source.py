"""The ``downscale.url`` block: an archive listed in a manifest, and how its files are fetched."""

from __future__ import annotations

from atmo.settings import settings_block


class UrlSourceSettings(settings_block("downscale", "url")):
    """The manifest (``None`` unless ``source: url``) and the transfer policy of :func:`atmo.io.download.download`."""

"""Codebooks as documents: Markdown, HTML, Frictionless Data Package, DDI-Codebook 2.5 and a terminal table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codebooks.errors import CodebookError
from codebooks.model import Codebook
from codebooks.render.datapackage import render_datapackage
from codebooks.render.ddi import render_ddi
from codebooks.render.html import render_html
from codebooks.render.markdown import render_markdown
from codebooks.render.text import render_text

#: Format name → renderer; each returns text except DDI (bytes).
RENDERERS = {"md": render_markdown, "html": render_html, "datapackage": render_datapackage, "ddi": render_ddi}
FORMATS = tuple(RENDERERS)


def render(codebooks: Codebook | Sequence[Codebook], format: str, **options: Any) -> bytes:
    """One or more codebooks rendered as `format` (md, html, datapackage, ddi), as UTF-8 bytes."""
    if format not in RENDERERS:
        raise CodebookError(f"unknown format '{format}' (formats: {', '.join(FORMATS)})")
    out = RENDERERS[format](codebooks, **options)
    return out if isinstance(out, bytes) else out.encode("utf-8")


__all__ = ["FORMATS", "render", "render_datapackage", "render_ddi", "render_html", "render_markdown", "render_text"]

"""A codebook as one self-contained HTML page: inline CSS, no scripts or external assets, Swedish with English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from codebooks.frequencies import DEFAULT_K
from codebooks.model import Codebook, Text
from codebooks.parsing import Frame
from codebooks.render.document import Block, Code, English, Facts, Heading, Line, Link, Paragraph, Table, build

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1b1b1b}
h1{border-bottom:2px solid #444}h2{margin-top:2.5rem;border-bottom:1px solid #999}h4{margin-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#eee}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.3rem 0 1rem}dt{font-weight:600}
dd{margin:0}code{background:#f3f3f3;padding:0 .2rem;border-radius:3px}[lang=en]{color:#35506b}
""".strip()


def render_html(codebooks: Codebook | Sequence[Codebook], *, title: Text | None = None,
                frames: Frame | Mapping[str, Frame] | None = None, k: int = DEFAULT_K) -> str:
    """One self-contained HTML page for one or more codebooks; `frames` add small-cell-safe frequency tables."""
    doc_title, blocks = build(codebooks, title=title, frames=frames, k=k)
    heading = f"{escape(doc_title.sv)} / <span lang=\"en\">{escape(doc_title.en)}</span>"
    body = "\n".join(_block(block) for block in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="reglink">\n'
        f"<title>{escape(doc_title.sv)} / {escape(doc_title.en)}</title>\n"
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n<h1>{heading}</h1>\n{body}\n</body>\n</html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f'<h{block.level} id="{escape(block.anchor)}">{_line(block.text)}</h{block.level}>'
    if isinstance(block, Paragraph):
        return f"<p>{_line(block.text)}</p>"
    if isinstance(block, Facts):
        items = "".join(f"<dt>{_line(term)}</dt><dd>{_line(text)}</dd>" for term, text in block.items)
        return f"<dl>{items}</dl>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_line(cell)}</th>" for cell in block.header)
        rows = "\n".join("<tr>" + "".join(f"<td>{_line(cell)}</td>" for cell in row) + "</tr>" for row in block.rows)
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    raise TypeError(type(block).__name__)


def _line(line: Line) -> str:
    return "".join(_inline(part) for part in line)


def _inline(part: object) -> str:
    if isinstance(part, Code):
        return f"<code>{escape(part.text)}</code>" if part.text else ""
    if isinstance(part, Link):
        return f'<a href="{escape(part.url)}">{escape(part.title)}</a>'
    if isinstance(part, English):
        return f'<span lang="en">{escape(part.text)}</span>'
    return escape(str(part))

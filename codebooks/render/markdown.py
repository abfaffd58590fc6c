"""A codebook as Markdown (GitHub-flavoured tables), Swedish with English alongside."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from codebooks.frequencies import DEFAULT_K
from codebooks.model import Codebook, Text
from codebooks.parsing import Frame
from codebooks.render.document import Block, Code, English, Facts, Heading, Line, Link, Paragraph, Table, build

_SPECIAL = re.compile(r"([\\`*_\[\]|#]|<(?=[A-Za-z/!?]))")
_SPACE = re.compile(r"\s+")


def render_markdown(codebooks: Codebook | Sequence[Codebook], *, title: Text | None = None,
                    frames: Frame | Mapping[str, Frame] | None = None, k: int = DEFAULT_K) -> str:
    """Markdown for one or more codebooks; `frames` (by codebook name) add small-cell-safe frequency tables."""
    doc_title, blocks = build(codebooks, title=title, frames=frames, k=k)
    out = [f"# {_escape(doc_title.sv)} / {_escape(doc_title.en)}", ""]
    for block in blocks:
        out.extend(_block(block))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return [f'<a id="{block.anchor}"></a>', "", f"{'#' * block.level} {_line(block.text)}"]
    if isinstance(block, Paragraph):
        return [_line(block.text)]
    if isinstance(block, Facts):
        return [f"- **{_line(term)}**: {_line(text)}" for term, text in block.items]
    if isinstance(block, Table):
        return ["| " + " | ".join(_line(cell) for cell in block.header) + " |",
                "|" + "---|" * len(block.header),
                *("| " + " | ".join(_line(cell) or " " for cell in row) + " |" for row in block.rows)]
    raise TypeError(type(block).__name__)


def _line(line: Line) -> str:
    return "".join(_inline(part) for part in line)


def _inline(part: object) -> str:
    if isinstance(part, Code):
        return f"`{part.text.replace('`', '')}`" if part.text else ""
    if isinstance(part, Link):
        return f"[{_escape(part.title)}]({part.url.replace(')', '%29').replace(' ', '%20')})"
    if isinstance(part, English):
        return _escape(part.text)
    return _escape(str(part))


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text))

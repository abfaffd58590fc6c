"""A codebook as a plain-text table for a terminal: one line per variable."""

from __future__ import annotations

from codebooks.model import Codebook, Variable
from codebooks.parsing import describe_range


def render_text(codebook: Codebook, *, language: str = "sv") -> str:
    """Name, type, role, required, values and label of every variable, aligned in columns."""
    header = ("name", "type", "role", "required", "values", "label")
    rows = [header] + [(v.name, v.type, v.role, "yes" if v.required else "no", _values(v), v.label.get(language))
                       for v in codebook.variables]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [f"{codebook.name}: {codebook.title.get(language)} ({codebook.register}; {codebook.source})", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _values(variable: Variable) -> str:
    if variable.codelist:
        return f"codelist {variable.codelist} ({len(variable.categories)})"
    if variable.categories:
        return f"{len(variable.categories)} categories"
    if variable.minimum is not None or variable.maximum is not None:
        return describe_range(variable)
    if variable.pattern:
        return "pattern"
    if variable.type == "date":
        return variable.date_format
    return ""

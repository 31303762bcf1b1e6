"""Let docstrings write norms and absolute values as ``|x|``, as physicists do.

In reStructuredText ``|name|`` is a substitution reference, so ``|x − y|`` in a docstring
breaks the build ("Undefined substitution referenced").  This extension escapes every ``|``
of a docstring (``\\|``) except inside inline literals (````…````), roles and
interpreted text (```…```), literal blocks (the indented block after a ``::`` line) and
doctest lines (``>>>``, ``...``), where it must stay as written.  Nothing else in the
docstring changes.
"""

from __future__ import annotations

import re

_PROTECTED = re.compile(r"(``.+?``|`[^`]*`)")


def escape_bars(text: str) -> str:
    """``|`` → ``\\|`` outside the protected spans of one line."""
    parts = _PROTECTED.split(text)
    return "".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def escape_docstring(lines: list[str]) -> list[str]:
    """The docstring's lines with every unprotected ``|`` escaped (module docstring)."""
    out, literal_indent = [], None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                out.append(line)
                continue
            literal_indent = None
        if stripped.startswith((">>>", "...")):
            out.append(line)
            continue
        out.append(escape_bars(line))
        if stripped.endswith("::"):
            literal_indent = indent
    return out


def _process(app, what, name, obj, options, lines):
    lines[:] = escape_docstring(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process, priority=900)  # after numpydoc
    return {"parallel_read_safe": True, "parallel_write_safe": True}

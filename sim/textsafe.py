"""User text in generated markdown: shown as text, never as structure.

Names and descriptions come from the command line (``programme.name=...``) and config
files. In ``summary.md`` a newline in one could start a heading or a table row, a ``|``
split a table cell, ``<script>`` run in a viewer that renders HTML, and ``*``/``_``/``[``
turn into emphasis or links. :func:`md_text` neutralises all of these; the HTML report is
escaped by its template instead (``sim/templates/report.html.j2``, autoescaped).

>>> md_text("Cohort\\n# Injected | <b>x</b>")
'Cohort \\\\# Injected \\\\| &lt;b&gt;x&lt;/b&gt;'
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can
# start or shape markup mid-line (emphasis, code, links, images, tables, raw HTML handled
# below as entities).
_INLINE = re.compile(r"([\\`*\[\]|#!~])")
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # intraword "_" is inert
_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")  # list, setext, ordered item


def md_text(value) -> str:
    """``value`` as one line of markdown text, safe in a heading, paragraph or table cell.

    Line breaks of every kind (and tabs) become single spaces; ``&``, ``<`` and ``>``
    become entities (no raw HTML); markdown punctuation is backslash-escaped, as is a
    character that would start a block (list, quote, numbered item) at the start.
    """
    text = " ".join(str(value).split())  # \n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    m = _BLOCK_START.match(text)
    if m is None:
        return text
    if m.group(2)[0].isdigit():  # "1." -> "1\." (a backslash before a digit would show)
        cut = m.end()
        return text[:cut] + "\\" + text[cut:]
    return m.group(1) + "\\" + text[m.start(2):]

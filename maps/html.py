r"""Text from data in the pages and charts: one escaping rule for every output.

Names, ids, labels, notes and file names come from input files a planner did not write
(published NHS and ONS tables, estates lists). A page that inserts such a text as markup
runs whatever script it holds, so every page writes it through one of these functions:

* :func:`escape` — HTML text (element content and quoted attribute values): ``&``, ``<``,
  ``>``, ``"`` and ``'`` become entities. Every string from data in the HTML the maps
  module builds by hand, in popups, legends, key boxes, tables and layer names;
* :func:`escape_properties` — the properties of a GeoJSON layer whose tooltip shows them:
  folium's ``GeoJsonTooltip`` puts property values into the tooltip as HTML;
* :func:`tooltip_text` — the text of a ``folium.Tooltip``, which folium writes into a
  JavaScript template string (between backquotes) as well as into HTML;
* :func:`chart_text` — a text drawn by matplotlib, where ``$...$`` would be read as
  mathematics (and an unbalanced formula stops the drawing).

JSON embedded in a page's scripts needs no call here: folium and the templates of
:mod:`maps.assets` write it with ``tojson``, which writes ``<``, ``>``, ``&`` and ``'``
as ``\u003c``-style escapes, so no text can close a ``<script>`` element.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["escape", "escape_properties", "tooltip_text", "chart_text"]

#: Characters that are safe in HTML but not in a JavaScript template string, as entities.
_TEMPLATE_ENTITIES = {"`": "&#96;", "$": "&#36;", "\\": "&#92;"}


def escape(value: Any) -> str:
    """``value`` as HTML text; ``None``, a missing value (``NaN``, ``pd.NA``) gives ``""``.

    Examples
    --------
    >>> escape("<img src=x onerror=alert(1)> & 'B'")
    '&lt;img src=x onerror=alert(1)&gt; &amp; &#x27;B&#x27;'
    >>> escape(None), escape(float("nan")), escape(3)
    ('', '', '3')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def escape_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature's properties with every text escaped (numbers and ``None`` kept)."""
    return {key: escape(value) if isinstance(value, str) else value for key, value in properties.items()}


def tooltip_text(value: Any) -> str:
    """Text for a ``folium.Tooltip``: HTML-escaped, and inert inside a JavaScript template string.

    Examples
    --------
    >>> tooltip_text("`${alert(1)}` <b>")
    '&#96;&#36;{alert(1)}&#96; &lt;b&gt;'
    """
    text = escape(value)
    for char, entity in _TEMPLATE_ENTITIES.items():
        text = text.replace(char, entity)
    return text


def chart_text(value: Any) -> str:
    r"""Text for matplotlib drawn as written: dollar signs do not start mathematics.

    Examples
    --------
    >>> chart_text("£5 or $5 and $6")
    '£5 or \\$5 and \\$6'
    """
    return "" if value is None else str(value).replace("$", r"\$")

"""Leaflet inlined into the page, so that maps work with no internet.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; offline such a page
is blank. :class:`OfflineMap` links nothing: Leaflet's own ``leaflet.js`` and
``leaflet.css`` are read at run time from the installed ``XStatic-Leaflet`` package (PyPI;
the Leaflet distribution files and nothing else) and written inline into the page, with
the images the stylesheet needs as ``data:`` URIs. Nothing third-party is copied into
this repository. Only plain Leaflet features are used (SVG paths, ``L.divIcon``,
``bindPopup``), hence the small :class:`HtmlPopup` in place of ``folium.Popup``, which
needs jQuery.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from geodata.errors import AssetError
from maps.html import tooltip_text

__all__ = [
    "LEAFLET_PACKAGE",
    "AssetError",
    "leaflet_dir",
    "leaflet_js",
    "leaflet_css",
    "OfflineMap",
    "HtmlPopup",
    "MapControl",
    "LayerLegend",
    "text_tooltip",
]

#: The PyPI distribution that provides Leaflet's files.
LEAFLET_PACKAGE = "XStatic-Leaflet"


@functools.cache
def leaflet_dir() -> Path:
    """Folder holding ``leaflet.js``, ``leaflet.css`` and ``images/``.

    Raises
    ------
    AssetError
        If ``XStatic-Leaflet`` is not installed or lacks the files.
    """
    try:
        from xstatic.pkg import leaflet as xstatic_leaflet
    except ImportError as exc:
        raise AssetError(
            f"maps need Leaflet's files from the {LEAFLET_PACKAGE} package: pip install {LEAFLET_PACKAGE}"
        ) from exc
    folder = Path(xstatic_leaflet.BASE_DIR)
    missing = [name for name in ("leaflet.js", "leaflet.css") if not (folder / name).is_file()]
    if missing:
        raise AssetError(f"{LEAFLET_PACKAGE} at {folder} lacks {', '.join(missing)}")
    return folder


@functools.cache
def leaflet_js() -> str:
    """Leaflet's minified JavaScript (text)."""
    return (leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")


@functools.cache
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs."""
    folder = leaflet_dir()
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        path = folder / match.group(1)
        if not path.is_file():
            return "none"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)


def _script_safe(text: str) -> str:
    """Text safe inside ``<script>``/``<style>`` elements (no premature closing tag)."""
    return re.sub(r"</(script|style)", r"<\\/\1", text, flags=re.IGNORECASE)


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that links no CDN: Leaflet is inlined into the page.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`folium.Map`.
    background
        CSS colour behind the map: a light paper colour, so that polygons and outlines
        stay readable where background tiles cannot load.

    Raises
    ------
    AssetError
        If Leaflet's files cannot be found.
    """

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def __init__(self, *args: Any, background: str = "#F4F1EA", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        figure = self.get_root()
        assert isinstance(figure, Figure)
        figure.header.add_child(Element(f"<style>{_script_safe(leaflet_css())}</style>"), name="leaflet_css_inline")
        figure.header.add_child(Element(f"<script>{_script_safe(leaflet_js())}</script>"), name="leaflet_js_inline")
        figure.header.add_child(
            Element(f"<style>.leaflet-container {{ background: {background}; }}</style>"), name="map_background"
        )


class HtmlPopup(MacroElement):
    """A popup bound to its parent layer, from an HTML string (plain Leaflet, no jQuery).

    Parameters
    ----------
    html
        The popup's content (already escaped by the caller where it holds data).
    max_width
        Widest popup, in pixels.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, max_width: int = 360) -> None:
        super().__init__()
        self._name = "HtmlPopup"
        self.html = html
        self.options = {"maxWidth": max_width}


class MapControl(MacroElement):
    """A box of HTML in a corner of the map (a Leaflet control, so corners do not overlap).

    Parameters
    ----------
    html
        Content of the box.
    position
        ``topleft``, ``topright``, ``bottomleft`` or ``bottomright``.
    css_class
        Extra class of the box (styled by the page's stylesheet).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomright", css_class: str = "catchment-box") -> None:
        super().__init__()
        self._name = "MapControl"
        self.html = html
        self.position = position
        self.css_class = f"catchment-box {css_class}".strip()


class LayerLegend(MacroElement):
    """A legend box shown only while a given layer is on the map.

    Parameters
    ----------
    layer
        The folium layer the legend explains.
    html
        Content of the box.
    position
        Leaflet corner of the box.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", "catchment-box catchment-layer-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            (function (map, layer, legend) {
                if (map.hasLayer(layer)) { legend.addTo(map); }
                map.on("overlayadd", function (e) { if (e.layer === layer) { legend.addTo(map); } });
                map.on("overlayremove", function (e) { if (e.layer === layer) { legend.remove(); } });
            })({{ this._parent.get_name() }}, {{ this.layer.get_name() }}, {{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: MacroElement, html: str, *, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "LayerLegend"
        self.layer = layer
        self.html = html
        self.position = position


def text_tooltip(text: str) -> folium.Tooltip:
    """A tooltip showing ``text`` as plain text.

    folium puts a tooltip's text into a JavaScript template string: the text is
    HTML-escaped and backticks, dollar signs and backslashes are written as entities so
    that no name can break the script (:func:`maps.html.tooltip_text`).
    """
    return folium.Tooltip(tooltip_text(text))

"""The board report as PDF (WeasyPrint), with no request to the internet.

:func:`report_pdf` lays out the page of :func:`maps.report.report_html` for A4 paper, the
interactive map replaced by its picture (:func:`maps.static.plan_figure`, the ``map.png``
of the output folder): WeasyPrint runs no script and draws no ``iframe``, and parsing the
inlined map would take most of the time. Tables, charts (inline SVG) and the units of
each polysystem are printed as they are. Every resource is inline (``data:`` URLs), and
WeasyPrint is allowed no other kind of URL.

WeasyPrint is an optional dependency (the ``pdf`` extra) because it needs Pango from the
operating system (Debian: ``libpango-1.0-0 libpangoft2-1.0-0`` and a font such as
``fonts-dejavu-core``); :func:`check_pdf_available` says what is missing in words.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import logging
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from catchment.build import BuiltProblem
from catchment.plan import Plan
from geodata.errors import PdfUnavailableError
from maps.areas import PlanGeometry, plan_geometry
from maps.plan_map import polysystem_colours
from maps.report import report_html
from maps.static import plan_figure

__all__ = ["PDF_CSS", "PDF_FILE", "check_pdf_available", "report_pdf", "write_report_pdf"]

logger = logging.getLogger(__name__)

#: Name of the PDF in an output folder.
PDF_FILE = "report.pdf"
#: Resolution of the map picture when it is drawn for the PDF (no ``map.png`` given).
MAP_DPI = 150
#: Print styles added to :data:`maps.report.REPORT_CSS`.
PDF_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 9px; color: #555; } }
body { max-width: none; padding: 0; font-size: 11px; }
h1 { font-size: 20px; }
h2 { font-size: 15px; break-after: avoid; }
.cards, .charts { display: block; }  /* no CSS grid: WeasyPrint 70 fails on a grid split across pages */
.charts svg.chart { display: block; margin: 0 0 12px; }
.card { display: inline-block; width: 31%; margin: 0 1.5% 6px 0; vertical-align: top; }
img.map { break-inside: avoid; max-height: 190mm; object-fit: contain; }
table.data { font-size: 10px; }
table.data tr { break-inside: avoid; }
details { break-inside: auto; }
details > summary { font-weight: 700; margin-top: 8px; list-style: none; }
svg.chart { break-inside: avoid; max-width: 100%; }
"""
_INSTALL = (
    "install it with: pip install 'catchment-planner[pdf]' (WeasyPrint), and on Debian or Ubuntu: "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
)


@functools.lru_cache(maxsize=1)
def _weasyprint() -> ModuleType:
    try:
        import weasyprint
    except ImportError as exc:
        raise PdfUnavailableError(f"the PDF report needs WeasyPrint, which is not installed: {_INSTALL}") from exc
    except OSError as exc:  # cffi could not load Pango or another system library
        raise PdfUnavailableError(
            f"the PDF report needs system libraries that WeasyPrint could not load ({exc}): {_INSTALL}"
        ) from exc
    return weasyprint


def check_pdf_available() -> None:
    """Raise :class:`~geodata.errors.PdfUnavailableError` (what to install) unless PDFs can be written.

    Commands call it before any long work.
    """
    _weasyprint()


def report_pdf(
    built: BuiltProblem,
    plan: Plan,
    *,
    map_png: bytes | None = None,
    title: str | None = None,
    generated: dt.datetime | None = None,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
) -> bytes:
    """The board report of a plan as a PDF.

    Parameters
    ----------
    built, plan
        The plan and its problem.
    map_png
        A picture of the map (the ``map.png`` of :func:`maps.write_plan_outputs`); drawn
        here when not given.
    title, generated
        As for :func:`maps.report.report_html`.
    geometry, colours
        Shapes and polysystem colours when already computed.

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    PdfUnavailableError
        If WeasyPrint or a system library it needs is missing.
    """
    weasyprint = _weasyprint()
    geometry = geometry or plan_geometry(built, plan)
    colours = dict(colours or polysystem_colours(plan, geometry))
    if map_png is None:
        buffer = io.BytesIO()
        plan_figure(built, plan, geometry=geometry, colours=colours).savefig(
            buffer, format="png", dpi=MAP_DPI, facecolor="white", bbox_inches="tight", pad_inches=0.15
        )
        map_png = buffer.getvalue()
    image = "data:image/png;base64," + base64.b64encode(map_png).decode("ascii")
    page = report_html(
        built, plan, title=title, generated=generated, geometry=geometry, colours=colours, map_image=image
    )
    page = page.replace("</head>", f"<style>{PDF_CSS}</style></head>", 1)  # after the report's own styles
    fetcher = _data_only_fetcher(weasyprint)
    document = weasyprint.HTML(string=page, **({} if fetcher is None else {"url_fetcher": fetcher}))
    return bytes(document.write_pdf())


def _data_only_fetcher(weasyprint: ModuleType) -> object | None:
    """A URL fetcher that only reads ``data:`` URLs (WeasyPrint 66 and later; earlier ones: None)."""
    fetcher = getattr(getattr(weasyprint, "urls", None), "URLFetcher", None)
    if fetcher is None:
        return None
    return fetcher(allowed_protocols=("data",))


def write_report_pdf(
    path: str | Path,
    built: BuiltProblem,
    plan: Plan,
    *,
    map_png: bytes | None = None,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`report_pdf` to ``path`` (normally inside a staging folder); return the path."""
    path = Path(path)
    path.write_bytes(report_pdf(built, plan, map_png=map_png, geometry=geometry, colours=colours))
    logger.info("PDF report written to %s", path)
    return path

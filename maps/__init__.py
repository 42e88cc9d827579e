"""Maps and the board report of a plan: they work with no internet.

>>> from maps import plan_map, report_html, write_plan_outputs       # doctest: +SKIP
>>> plan_map(built, plan).save("map.html")                          # doctest: +SKIP
>>> write_plan_outputs("out/demo", built, plan)                      # doctest: +SKIP

* :func:`plan_map` — interactive folium map (Leaflet inlined, no CDN);
* :func:`comparison_map` — two plans, units that change polysystem highlighted;
* :func:`report_html` — one self-contained HTML page for a board;
* :func:`save_static_map` — a PNG for papers (matplotlib);
* :func:`write_plan_outputs` — ``map.html``, ``report.html`` and ``map.png`` into a folder (and
  ``report.pdf``, :mod:`maps.pdf`, when asked).
"""

from __future__ import annotations

import logging
from pathlib import Path

from catchment.build import BuiltProblem
from catchment.plan import Plan
from maps.areas import plan_geometry
from maps.compare import comparison_map, polysystem_changes
from maps.plan_map import map_html, plan_map, polysystem_colours, save_map
from maps.report import report_html
from maps.static import plan_figure, save_static_map

__all__ = [
    "plan_map",
    "comparison_map",
    "polysystem_changes",
    "polysystem_colours",
    "plan_geometry",
    "map_html",
    "save_map",
    "report_html",
    "plan_figure",
    "save_static_map",
    "write_plan_outputs",
    "MAP_FILES",
]

logger = logging.getLogger(__name__)

#: Files written by :func:`write_plan_outputs`.
MAP_FILES = ("map.html", "report.html", "map.png")


def write_plan_outputs(folder: str | Path, built: BuiltProblem, plan: Plan, *, pdf: bool = False) -> dict[str, Path]:
    """Write the map, the board report and the static picture of a plan into ``folder``.

    Parameters
    ----------
    folder
        An existing folder (normally the staging folder of
        :func:`catchment.outputs.atomic_output_dir`).
    built
        The problem and its frames.
    plan
        The plan.
    pdf
        Also write the board report as PDF (``report.pdf``, :func:`maps.pdf.report_pdf`).

    Returns
    -------
    dict
        File name (:data:`MAP_FILES`, and ``report.pdf``) -> path written.
    """
    folder = Path(folder)
    geometry = plan_geometry(built, plan)
    colours = polysystem_colours(plan, geometry)
    paths = {name: folder / name for name in MAP_FILES}
    save_map(plan_map(built, plan, geometry=geometry, colours=colours), paths["map.html"])
    report = report_html(built, plan, geometry=geometry, colours=colours)
    paths["report.html"].write_text(report, encoding="utf-8")
    save_static_map(built, plan, paths["map.png"], geometry=geometry, colours=colours)
    if pdf:
        from maps.pdf import PDF_FILE, write_report_pdf

        paths[PDF_FILE] = write_report_pdf(
            folder / PDF_FILE, built, plan, map_png=paths["map.png"].read_bytes(), geometry=geometry, colours=colours
        )
    logger.info("map, report and picture written to %s", folder)
    return paths

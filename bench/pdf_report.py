"""Time the PDF board report: the print page (map as a picture) against the whole HTML report.

    PYTHONPATH=. python bench/pdf_report.py [--print-only] [redbridge] [london-practices]

For each study area the plan is the heuristic's (the layout does not depend on how good the
plan is). Two ways to the PDF are timed in the same process, one after the other, wall and
CPU seconds: ``html`` runs WeasyPrint on :func:`maps.report_html` as written to
``report.html`` (the map inlined in an ``iframe srcdoc``, which WeasyPrint parses but never
draws); ``print`` is :func:`maps.pdf.report_pdf` given the ``map.png`` the output folder
already holds (as ``--pdf`` does). The ratio is html / print (``--print-only``: the print
way alone, no ratio). The exports of the same plan
(:func:`catchment.exports.workbook_bytes` and :func:`catchment.exports.geojson_layers`) are
timed too.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from bench.instances import london_scenario
from catchment.build import BuiltProblem, build_from_scenario
from catchment.exports import geojson_layers, workbook_bytes
from catchment.scenario import read_scenario
from maps import plan_figure, report_html
from maps.pdf import report_pdf
from solvers import solve_heuristic

ROOT = Path(__file__).resolve().parents[1]
AREAS = {
    "redbridge": lambda: read_scenario(ROOT / "scenarios" / "redbridge.toml"),
    "london-practices": lambda: london_scenario("practice"),
}


def _timed(func):  # noqa: ANN001, ANN202
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str]) -> int:
    import weasyprint

    print_only = "--print-only" in argv
    argv = [a for a in argv if a != "--print-only"]
    for name in argv or list(AREAS):
        built: BuiltProblem = build_from_scenario(AREAS[name]())
        plan = solve_heuristic(built.problem)
        assert plan is not None
        buffer = io.BytesIO()
        plan_figure(built, plan).savefig(buffer, format="png", dpi=150, bbox_inches="tight")
        png = buffer.getvalue()
        pdf, new_wall, new_cpu = _timed(lambda: report_pdf(built, plan, map_png=png))  # noqa: B023
        if print_only:
            print(
                f"{name}: {built.problem.n_units} units; print: {new_wall:.1f} s wall, {new_cpu:.1f} s CPU", flush=True
            )
        else:
            page, html_wall, html_cpu = _timed(lambda: report_html(built, plan))  # noqa: B023
            _, pdf_wall, pdf_cpu = _timed(lambda: weasyprint.HTML(string=page).write_pdf())  # noqa: B023
            old_wall, old_cpu = html_wall + pdf_wall, html_cpu + pdf_cpu
            print(
                f"{name}: {built.problem.n_units} units, report.html {len(page) / 1e6:.1f} MB; "
                f"html: {old_wall:.1f} s wall, {old_cpu:.1f} s CPU; print: {new_wall:.1f} s wall, "
                f"{new_cpu:.1f} s CPU ({len(pdf) / 1e6:.1f} MB); ratio html/print: wall {old_wall / new_wall:.1f}, "
                f"CPU {old_cpu / new_cpu:.1f}",
                flush=True,
            )
        book, book_wall, book_cpu = _timed(lambda: workbook_bytes(built, plan))  # noqa: B023
        _, geo_wall, geo_cpu = _timed(lambda: geojson_layers(built, plan))  # noqa: B023
        print(
            f"{name}: plan.xlsx {len(book) / 1e3:.0f} kB in {book_wall:.1f} s wall, {book_cpu:.1f} s CPU; "
            f"GeoJSON layers {geo_wall:.1f} s wall, {geo_cpu:.1f} s CPU",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

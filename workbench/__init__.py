"""The planner's workbench: a local web app on top of the engine (presentation only).

* :mod:`workbench.state` — the session (what is open, the plans, edits, background solves),
  with no web framework: every figure comes from the engine's own functions;
* :mod:`workbench.mapdata` — GeoJSON of the map, built once per problem, and the small
  style maps that change with each edit;
* :mod:`workbench.app` — the Dash layout and callbacks (``python optimise.py app``).
"""

from __future__ import annotations

__all__: list[str] = []

"""The workbench against careless and malformed input: the page's requests as the browser sends them.

Every bad request is answered with a message in the page naming the field (never a server
error), the session is unchanged by it and the server goes on answering; a finished solve
never loses the configuration the planner had (Undo brings it back); a site the rules
exclude cannot be forced open behind their back.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from types import SimpleNamespace

import pytest

from catchment.validate import polysystem_label
from geodata.errors import CatchmentError, EditError, ScenarioError
from workbench.app import create_app
from workbench.state import Session


@pytest.fixture(scope="module")
def opened(tmp_path_factory, real_data):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        session = Session(real_data)
        session.open_file("scenarios/redbridge.toml")
        app = create_app(session)
        yield session, app, app.server.test_client()


#: The start of each callback's key in ``app.callback_map`` (its outputs).
ACTION, LOAD, OUTLINES, SELECT = "..messages.children...", "..units.data...", "..outlines.data...", "..unit.value..."
EXPORT = "..download.data..."


def _body(app, trigger: str, values: dict, callback: str = ACTION) -> dict:
    """A callback request as the page sends it: ``trigger`` changed, ``values`` by ``id.property``."""
    key = next(k for k in app.callback_map if k.startswith(callback))
    spec = app.callback_map[key]
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in key[2:-2].split("...")]

    def item(d):
        name = f"{d['id']}.{d['property']}"
        return {"id": d["id"], "property": d["property"], **({"value": values[name]} if name in values else {})}

    return {
        "output": key,
        "outputs": outputs,
        "inputs": [item(d) for d in spec["inputs"]],
        "state": [item(d) for d in spec["state"]],
        "changedPropIds": [trigger],
    }


def _post(app, client, trigger: str, values: dict, callback: str = ACTION):
    """POST a callback (the page's action callback unless ``callback`` says) as the page does."""
    body = json.dumps(_body(app, trigger, values, callback))
    return client.post("/_dash-update-component", data=body, content_type="application/json")


def _messages(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [m["props"]["children"] for m in response.get_json()["response"]["messages"]["children"]]


def _click(app, client, button: str, **values):
    return _messages(_post(app, client, f"{button}.n_clicks", {f"{button}.n_clicks": 1, **values}))


@pytest.mark.parametrize(
    ("button", "values", "expected"),
    [
        ("open-file", {"scenario-path.value": 5}, "scenario file: expected text, got int 5"),
        ("open-file", {"scenario-path.value": ["a.toml"]}, "scenario file: expected text, got list"),
        ("open-file", {"scenario-path.value": "x" * 5000 + ".toml"}, "cannot read the scenario file"),
        ("open-file", {"scenario-path.value": "scenarios"}, "scenarios: a folder, not a scenario file"),
        ("move", {"unit.value": ["F86007"], "target.value": "F86008"}, "unit: expected text, got list"),
        ("move", {"unit.value": {"id": 1}, "target.value": "F86008"}, "unit: expected text, got dict"),
        ("compare", {"cmp-a.value": None, "cmp-b.value": "edited"}, "choose the two plans to compare"),
        ("compare", {"cmp-a.value": ["today"], "cmp-b.value": "edited"}, "first plan: expected text, got list"),
    ],
)
def test_malformed_requests_get_a_message_naming_the_field(opened, button, values, expected):
    session, app, client = opened
    plan, seq = session.verdict.plan, session.edits
    messages = _click(app, client, button, **values)
    assert len(messages) == 1 and messages[0].startswith("ERROR: ") and expected in messages[0], messages
    assert session.edits == seq and session.verdict.plan == plan and session.source == "scenarios/redbridge.toml"
    # the server goes on answering
    unit = session.problem.unit_ids[0]
    target = next(h for h in plan.hubs if h != plan.assignment[unit])
    assert _click(app, client, "move", **{"unit.value": unit, "target.value": target}) == []
    assert session.verdict.plan.assignment[unit] == target
    assert _click(app, client, "undo") == []
    assert session.verdict.plan == plan


def _action(app, change):
    """The body of a click on Undo, changed by ``change`` (a function of the body)."""
    body = _body(app, "undo.n_clicks", {"undo.n_clicks": 1})
    return change(body)


def _without(key):
    return lambda body: {k: v for k, v in body.items() if k != key}


def _set(key, value):
    return lambda body: {**body, key: value}


def _first_input(value):
    return lambda body: {**body, "inputs": [value, *body["inputs"][1:]]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{}", "'output' must name a callback of this page, got null"),
        ("[]", "the body must be a JSON object, got list []"),
        ("null", "the body must be a JSON object, got null"),
        ("not json", "the body is not JSON"),
        (_set("output", "nope.children"), "'output' must name a callback of this page, got text 'nope.children'"),
        (_set("output", ["x"]), "'output' must name a callback of this page, got list"),
        (_without("outputs"), "'outputs' must be a list of 16 {id, property} objects, got null"),
        (lambda b: {**b, "outputs": b["outputs"][:3]}, "'outputs' must be a list of 16"),
        (lambda b: {**b, "outputs": [{"id": "x", "property": "y"}, *b["outputs"][1:]]}, "'outputs'[0] must be"),
        (_without("inputs"), "'inputs' must be a list of 19 {id, property} objects, got null"),
        (_set("inputs", {}), "'inputs' must be a list of 19 {id, property} objects, got object {}"),
        (lambda b: {**b, "inputs": b["inputs"][1:]}, "'inputs' must be a list of 19"),
        (_first_input(5), "'inputs'[0] must be an {id, property} object, got number 5"),
        (_first_input({"value": 1}), "'inputs'[0] must be an {id, property} object"),
        (_first_input({"id": "solve", "property": "n_clicks"}), "'inputs'[0] must be open-file.n_clicks"),
        (_without("state"), "'state' must be a list of"),
        (_set("state", None), "'state' must be a list of"),
        (_set("changedPropIds", "undo.n_clicks"), "'changedPropIds' must be a list of texts"),
        (_set("changedPropIds", [["undo.n_clicks"]]), "'changedPropIds' must be a list of texts"),
        (_set("changedPropIds", ["{bad.x"]), "'changedPropIds' names text '{bad.x', not an input of callback"),
    ],
)
def test_a_request_dash_cannot_read_gets_http_400(opened, caplog, body, expected):
    session, app, client = opened
    plan, seq = session.verdict.plan, session.edits
    data = body if isinstance(body, str) else json.dumps(_action(app, body))
    with caplog.at_level(logging.WARNING):
        response = client.post("/_dash-update-component", data=data, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error.startswith("malformed callback request: ") and expected in error, error
    assert [r.levelname for r in caplog.records] == ["WARNING"] and expected in caplog.records[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    assert session.edits == seq and session.verdict.plan == plan
    assert _click(app, client, "cancel") == []  # the server goes on answering


def test_a_callback_request_that_is_not_json_gets_http_400(opened):
    _, app, client = opened
    data = json.dumps(_body(app, "undo.n_clicks", {"undo.n_clicks": 1}))
    response = client.post("/_dash-update-component", data=data, content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["error"].endswith("the body must be JSON (Content-Type: application/json)")
    assert client.get("/_dash-layout").status_code == 200  # other routes are not checked


def test_a_one_output_callback_takes_one_output_object(opened):
    _, _, client = opened
    body = {
        "output": "area-code.options",
        "outputs": {"id": "area-code", "property": "options"},
        "inputs": [{"id": "area-kind", "property": "value", "value": "lad"}],
        "state": [{"id": "area-choices", "property": "data", "value": {"lad": [["E09000026", "Redbridge"]]}}],
        "changedPropIds": ["area-kind.value"],
    }

    def post(body):
        return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")

    assert post(body).get_json()["response"]["area-code"]["options"] == [{"label": "Redbridge", "value": "E09000026"}]
    response = post({**body, "outputs": None})
    assert response.status_code == 400
    assert "'outputs' must be an {id, property} object, got null" in response.get_json()["error"]


def _outputs(response) -> dict:
    """The outputs a callback's response updates: ``id.property`` -> value."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {f"{i}.{p}": v for i, props in response.get_json()["response"].items() for p, v in props.items()}


LONG = "x" * 5000


@pytest.mark.parametrize(
    ("callback", "values", "expected"),
    [
        (LOAD, {"version.data": ["1"]}, "version: expected a whole number, got list ['1']"),
        (LOAD, {"version.data": {"v": 1}}, "version: expected a whole number, got dict {'v': 1}"),
        (LOAD, {"version.data": LONG}, "version: expected a whole number, got str 'xxxx"),
        (LOAD, {"version.data": 1.5}, "version: expected a whole number, got float 1.5"),
        (LOAD, {"version.data": True}, "version: expected a whole number, got bool True"),
        (OUTLINES, {"edit-seq.data": ["1"]}, "edit sequence: expected a whole number, got list ['1']"),
        (OUTLINES, {"edit-seq.data": {"v": 1}}, "edit sequence: expected a whole number, got dict"),
        (OUTLINES, {"edit-seq.data": LONG}, "edit sequence: expected a whole number, got str 'xxxx"),
        (OUTLINES, {"redraw-areas.n_clicks": "1"}, "Redraw areas (clicks): expected a whole number, got str '1'"),
        (SELECT, {"unit.value": 5}, "unit: expected text, got int 5"),
        (SELECT, {"unit.value": ["F86007"]}, "unit: expected text, got list ['F86007']"),
        (SELECT, {"unit.value": {"id": "F86007"}}, "unit: expected text, got dict"),
        (SELECT, {"unit.value": LONG}, "(5,002 characters) is not a unit of the open problem"),
        (SELECT, {"unit.value": "NOPE"}, "unit: 'NOPE' is not a unit of the open problem"),
        (SELECT, {"units.clickData": 5}, "map click (units): expected a map feature, got int 5"),
        (SELECT, {"units.clickData": ["F86007"]}, "map click (units): expected a map feature, got list"),
        (SELECT, {"units.clickData": LONG}, "map click (units): expected a map feature, got str 'xxxx"),
        (SELECT, {"units.clickData": {"properties": ["F86007"]}}, "map click (units): expected a map feature"),
        (SELECT, {"units.clickData": {"properties": {"id": 5}}}, "map click (units): expected text, got int 5"),
        (SELECT, {"sites.clickData": {"properties": {"id": "NOPE"}}}, "'NOPE' is not a candidate site of the open"),
    ],
)
def test_odd_values_of_the_map_callbacks_get_a_message_naming_the_field(opened, callback, values, expected):
    session, app, client = opened
    plan, seq, version = session.verdict.plan, session.edits, session.version
    unit = session.problem.unit_ids[1]
    clicked = {"properties": {"id": unit}}
    assert _outputs(_post(app, client, "units.clickData", {"units.clickData": clicked}, SELECT))["unit.value"] == unit
    response = _post(app, client, next(iter(values)), values, callback)
    changed = _outputs(response)
    assert list(changed) == ["messages.children"], changed  # nothing else is touched
    messages = [m["props"]["children"] for m in changed["messages.children"]]
    assert len(messages) == 1 and messages[0].startswith("ERROR: ") and expected in messages[0], messages
    assert len(messages[0]) < 250  # a long value is cut
    assert session.edits == seq and session.version == version and session.verdict.plan == plan
    # the selection is unchanged and the server goes on answering
    info = _outputs(_post(app, client, "units.clickData", {"units.clickData": None}, SELECT))["unit-info.children"]
    assert f"({unit})" in info
    assert _click(app, client, "cancel") == []


def test_the_map_callbacks_answer_sound_values(opened):
    session, _, _ = opened
    app = create_app(session)  # a new page: nothing drawn yet
    client = app.server.test_client()
    loaded = _outputs(_post(app, client, "version.data", {"version.data": 5}, LOAD))
    assert len(loaded["units.data"]["features"]) == session.problem.n_units and "messages.children" not in loaded
    assert (
        client.post(  # nothing to load yet: no update
            "/_dash-update-component",
            data=json.dumps(_body(app, "version.data", {"version.data": None}, LOAD)),
            content_type="application/json",
        ).status_code
        == 204
    )
    drawn = _outputs(_post(app, client, "edit-seq.data", {"edit-seq.data": session.edits}, OUTLINES))
    assert drawn["areas-note.children"] == f"polysystem areas as of edit {session.edits}"
    site = session.problem.site_ids[0]
    chosen = _outputs(_post(app, client, "sites.clickData", {"sites.clickData": {"properties": {"id": site}}}, SELECT))
    assert chosen["new-site.value"] == site and f"({site})" in chosen["site-info.children"]
    unit = session.problem.unit_ids[0]
    chosen = _outputs(_post(app, client, "unit.value", {"unit.value": unit}, SELECT))
    assert f"({unit})" in chosen["unit-info.children"] and "messages.children" not in chosen
    cleared = _outputs(_post(app, client, "unit.value", {"unit.value": None}, SELECT))
    assert cleared["unit-info.children"] == ""


@pytest.mark.parametrize(
    ("button", "values", "expected"),
    [
        ("move", {"unit.value": LONG, "target.value": "HUB"}, "unit: 'xxxx"),
        ("move", {"unit.value": "UNIT", "target.value": LONG}, "move to: 'xxxx"),
        ("set-option", {"hub.value": LONG, "option.value": "reuse"}, "polysystem: 'xxxx"),
        ("set-option", {"hub.value": "HUB", "option.value": LONG}, "hub option: 'xxxx"),
        ("set-hub", {"hub.value": "HUB", "new-site.value": LONG}, "new hub site: 'xxxx"),
        ("open-hub", {"new-site.value": LONG}, "new hub site: 'xxxx"),
        ("open-hub", {"new-site.value": "SITE", "option.value": LONG}, "hub option: 'xxxx"),
        ("close-hub", {"hub.value": "HUB", "target.value": LONG}, "move to: 'xxxx"),
    ],
)
def test_a_long_unknown_id_of_an_edit_is_cut_in_the_message(opened, button, values, expected):
    session, app, client = opened
    plan, seq = session.verdict.plan, session.edits
    known = {"HUB": plan.hubs[0], "UNIT": session.problem.unit_ids[0]}
    known["SITE"] = next(s for s in session.problem.site_ids if s not in plan.hub_options)
    messages = _click(app, client, button, **{k: known.get(v, v) for k, v in values.items()})
    assert len(messages) == 1 and messages[0].startswith(f"ERROR: {expected}"), messages
    assert "... (5,002 characters) is not " in messages[0] and len(messages[0]) < 250, messages
    assert session.edits == seq and session.verdict.plan == plan


@pytest.mark.parametrize(
    ("trigger", "values", "expected"),
    [
        ("move.n_clicks", {"version.data": ["1"]}, "version: expected a whole number, got list ['1']"),
        ("move.n_clicks", {"version.data": LONG}, "version: expected a whole number, got str 'xxxx"),
        ("move.n_clicks", {"edit-seq.data": {"v": 1}}, "edit sequence: expected a whole number, got dict {'v': 1}"),
        ("move.n_clicks", {"edit-seq.data": 2.5}, "edit sequence: expected a whole number, got float 2.5"),
        ("tick.n_intervals", {"version.data": True}, "version: expected a whole number, got bool True"),
        ("tick.n_intervals", {"edit-seq.data": "3"}, "edit sequence: expected a whole number, got str '3'"),
    ],
)
def test_the_page_s_version_and_edit_sequence_are_checked(opened, trigger, values, expected):
    session, app, client = opened
    plan, seq, version = session.verdict.plan, session.edits, session.version
    unit = session.problem.unit_ids[0]
    target = next(h for h in plan.hubs if h != plan.assignment[unit])
    page = {"version.data": version, "edit-seq.data": seq, "unit.value": unit, "target.value": target}
    shown = _outputs(_post(app, client, trigger, {trigger: 1, **page, **values}))
    messages = [m["props"]["children"] for m in shown["messages.children"]]
    assert len(messages) == 1 and messages[0].startswith(f"ERROR: {expected}") and len(messages[0]) < 250, messages
    assert session.edits == seq and session.version == version and session.verdict.plan == plan  # no move made
    assert shown["edit-seq.data"] == seq  # the page's stores are set right again
    assert shown.get("version.data") == (version if "version.data" in values else None)


@pytest.mark.parametrize(
    ("button", "label"), [("export-xlsx", "Workbook (.xlsx)"), ("export-zip", "Output folder (zip)")]
)
def test_an_export_into_an_unwritable_temporary_folder_says_what_failed_and_what_to_do(
    opened, tmp_path, monkeypatch, button, label
):
    session, app, client = opened
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the temporary folder should be")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    changed = _outputs(_post(app, client, f"{button}.n_clicks", {f"{button}.n_clicks": 1}, EXPORT))
    assert list(changed) == ["messages.children"]  # nothing downloaded
    (message,) = [m["props"]["children"] for m in changed["messages.children"]]
    assert message.startswith(f"ERROR: export '{label}' failed: its files could not be written in the temporary ")
    assert f"folder {blocker} (Not a directory: {blocker}{os.sep}" in message
    assert f"Nothing was exported; make {blocker} a writable folder with free space" in message
    assert "start the workbench with TMPDIR set to another, then export again" in message
    monkeypatch.undo()
    changed = _outputs(_post(app, client, f"{button}.n_clicks", {f"{button}.n_clicks": 2}, EXPORT))
    assert changed["messages.children"] == [] and changed["download.data"]["base64"]


def test_an_export_error_names_the_file_and_the_folder(tmp_path, monkeypatch):
    from workbench.state import export_error

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    full = export_error("GeoJSON", OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "a" / "b.json")))
    assert str(full) == (
        f"export 'GeoJSON' failed: its files could not be written in the temporary folder {tmp_path} (No space "
        f"left on device: {tmp_path / 'a' / 'b.json'}). Nothing was exported; make {tmp_path} a writable folder "
        "with free space, or start the workbench with TMPDIR set to another, then export again"
    )
    elsewhere = export_error("GeoJSON", PermissionError(errno.EACCES, "Permission denied", "/elsewhere/x.json"))
    assert str(elsewhere).startswith("export 'GeoJSON' failed: /elsewhere/x.json could not be written (Permission ")
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(tempfile, "_candidate_tempdir_list", lambda: [str(tmp_path / "missing")])
    nowhere = export_error("GeoJSON", FileNotFoundError("No usable temporary directory found"))
    assert "no temporary folder can be written (" in str(nowhere) and "start the workbench with TMPDIR" in str(nowhere)


def test_a_move_to_the_polysystem_the_unit_is_in_says_so_and_records_nothing(opened):
    session, app, client = opened
    plan = session.verdict.plan
    unit, other = session.problem.unit_ids[:2]
    elsewhere = next(h for h in plan.hubs if h != plan.assignment[other])
    session.move(other, elsewhere)
    session.undo()  # something to redo, which a refused move must not lose
    seq, history = session.edits, session.editor.history
    hub = plan.assignment[unit]
    where = polysystem_label(session.problem, hub, plan.polysystem_ids()[hub])
    assert where.startswith("polysystem PS") and f"(hub {hub!r}" in where
    messages = _click(app, client, "move", **{"unit.value": unit, "target.value": hub})
    assert messages == [f"ERROR: unit {unit!r} is already in {where}: nothing to move; choose another polysystem"]
    assert session.edits == seq and session.editor.history == history and session.verdict.plan == plan
    assert session.editor.can_redo
    session.redo()  # the undone move is still there
    assert session.verdict.plan.assignment[other] == elsewhere
    session.undo()
    assert session.verdict.plan == plan


@pytest.mark.parametrize("button", ["set-option", "set-hub", "undo", "redo"])
def test_an_edit_that_changes_nothing_says_so_and_records_nothing(opened, button):
    session, app, client = opened
    plan = session.verdict.plan
    unit = session.problem.unit_ids[1]
    elsewhere = next(h for h in plan.hubs if h != plan.assignment[unit])
    session.move(unit, elsewhere)
    if button != "redo":
        session.undo()  # something to redo, which the refused edit must not lose
    seq, version, history = session.edits, session.version, session.editor.history
    hub = plan.hubs[0]
    where = polysystem_label(session.problem, hub, plan.polysystem_ids()[hub])
    option = plan.hub_options[hub]
    values, expected = {
        "set-option": (
            {"hub.value": hub, "option.value": option},
            f"{where} already has option {option!r}: nothing to change; choose another option",
        ),
        "set-hub": (
            {"hub.value": hub, "new-site.value": hub},
            f"{where} already has its hub on site {hub!r}: nothing to move; choose another site",
        ),
        "undo": ({}, "nothing to undo"),
        "redo": ({}, "nothing to redo"),
    }[button]
    page = {"version.data": version, "edit-seq.data": seq}
    shown = _outputs(_post(app, client, f"{button}.n_clicks", {f"{button}.n_clicks": 1, **page, **values}))
    assert [m["props"]["children"] for m in shown["messages.children"]] == [f"ERROR: {expected}"]
    assert shown["verdict-seq.children"] == str(seq) and shown["edit-seq.data"] == seq  # no edit counted
    assert session.edits == seq and session.version == version and session.editor.history == history
    if button == "redo":
        assert not session.editor.can_redo
        session.undo()
    else:  # the undone move is still there to redo
        session.redo()
        assert session.verdict.plan.assignment[unit] == elsewhere
        session.undo()
    assert session.verdict.plan == plan


def test_an_unexpected_failure_is_shown_in_the_page_and_the_server_goes_on(opened, monkeypatch):
    session, app, client = opened

    def broken() -> None:
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(session, "redo", broken)
    messages = _click(app, client, "redo")
    assert len(messages) == 1 and messages[0].startswith("INTERNAL ERROR (redo): RuntimeError: something unforeseen")
    monkeypatch.undo()
    plan = session.verdict.plan
    unit = session.problem.unit_ids[0]
    session.move(unit, next(h for h in plan.hubs if h != plan.assignment[unit]))
    session.undo()
    assert _click(app, client, "redo") == []
    session.undo()
    assert session.verdict.plan == plan


def test_a_folder_or_an_unreadable_name_is_a_scenario_error(tmp_path):
    from catchment.scenario import read_scenario

    with pytest.raises(ScenarioError, match="a folder, not a scenario file"):
        read_scenario(tmp_path)
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        read_scenario(tmp_path / ("x" * 5000 + ".toml"))


class _FinishedSolve:
    """A solve job that has just finished with ``plan`` (what :meth:`Session.poll` reads of a job)."""

    kind = "solve"

    def __init__(self, plan) -> None:
        self.state = "running"
        self.replaced = False
        self.result = SimpleNamespace(usable=True, plan=plan)

    def poll(self) -> str:
        self.state = "done"
        return self.state

    def cancel(self) -> None:
        pass


def test_a_finished_solve_keeps_the_edited_configuration_for_undo(opened, monkeypatch):
    session, _, _ = opened
    monkeypatch.setattr(session, "optimum", session.optimum)  # put back after the test (the fake solve's)
    today = session.verdict.plan
    unit = session.problem.unit_ids[0]
    first = next(h for h in today.hubs if h != today.assignment[unit])
    session.move(unit, first)
    edited = session.verdict.plan.assignment
    # the solve's plan: today's PCNs with another unit moved
    other = session.problem.unit_ids[1]
    solved = dict(today.assignment)
    solved[other] = next(h for h in today.hubs if h != today.assignment[other])
    session.job = _FinishedSolve(type(today)(solved, dict(today.hub_options), "optimal", solver="highs"))
    assert session.poll() == "done"
    assert session.verdict.plan.assignment == solved and session.job.replaced
    session.undo()  # back to the planner's configuration, with its own history
    assert session.verdict.plan.assignment == edited
    session.redo()  # and forward to the solve's plan
    assert session.verdict.plan.assignment == solved
    session.undo()
    session.undo()  # the planner's own edit
    assert session.verdict.plan.assignment == today.assignment
    session.redo()
    session.redo()
    assert session.verdict.plan.assignment == solved
    session.undo()
    away = next(h for h in today.hubs if h != today.assignment[other])
    session.move(other, away)  # a new edit: the solve's plan cannot come back by Redo
    after = session.verdict.plan.assignment
    with pytest.raises(EditError, match="nothing to redo"):
        session.redo()
    assert session.verdict.plan.assignment == after
    session.undo()
    session.undo()
    assert session.verdict.plan.assignment == today.assignment
    session.job = None


def test_a_site_the_rules_exclude_cannot_be_forced_open(opened):
    from workbench.state import rules_form

    session, _, _ = opened
    form = rules_form(session.scenario)
    site = next(s for s in session.problem.site_ids if s not in session.verdict.plan.hub_options)
    session.force_site(site, "open")
    # excluding it in the rules panel ends the forcing: the rules say
    session.set_rules({**form, "excluded": site})
    assert site not in session.forced
    assert session.problem.site_status[session.problem.site_index(site)] == "excluded"
    seq = session.edits
    with pytest.raises(CatchmentError, match=rf"site '{site}' is excluded by the rules \(\[sites\] excluded\)"):
        session.force_site(site, "open")
    assert session.edits == seq and site not in session.forced
    session.force_site(site, "closed")  # agrees with the rules
    session.force_site(site, None)
    session.set_rules({**form, "required": site})
    with pytest.raises(CatchmentError, match=rf"site '{site}' is required by the rules \(\[sites\] required\)"):
        session.force_site(site, "closed")
    session.set_rules(form)
    assert session.problem.site_status[session.problem.site_index(site)] == "candidate"


def _comparison(app, client, a: str, b: str, **page) -> tuple[list[str], str]:
    """Compare ``a`` and ``b`` as the page does: its messages and the comparison block's text."""
    shown = _outputs(
        _post(app, client, "compare.n_clicks", {"compare.n_clicks": 1, "cmp-a.value": a, "cmp-b.value": b})
    )
    return [m["props"]["children"] for m in shown["messages.children"]], json.dumps(shown.get("comparison.children"))


def test_compare_shows_the_figures_and_the_moves(opened, monkeypatch):
    """The moves table has a column ``from`` (a Python keyword): each move is listed with it."""
    session, app, client = opened
    plan = session.verdict.plan
    unit = session.problem.unit_ids[0]
    target = next(h for h in plan.hubs if h != plan.assignment[unit])
    ids = plan.polysystem_ids()
    moved = f"{unit}: {ids[plan.assignment[unit]]} -> {ids[target]} ("
    session.move(unit, target)
    try:
        messages, block = _comparison(app, client, "today", "edited")
        assert messages == [] and moved in block and "1 units" in block and "mean travel (min)" in block, messages
        # today against an optimum that moved the same unit
        optimum = SimpleNamespace(plan=session.verdict.plan, objective=None, gap=None, validated=False, usable=True)
        monkeypatch.setattr(session, "optimum", optimum)
        messages, block = _comparison(app, client, "today", "optimum")
        assert messages == [] and moved in block and "1 units" in block, messages
    finally:
        session.undo()
    assert session.verdict.plan == plan


class _ShortlistJob:
    """A shortlist job, running until ``finish`` is set (what the session and the page read of a job)."""

    kind = "shortlist"
    errors: list[str] = []
    progress: dict[str, str] = {}
    replaced = False
    elapsed_s = 1.0

    def __init__(self, result) -> None:
        self.state = "running"
        self.finish = False
        self.result = result

    def poll(self) -> str:
        if self.finish:
            self.state = "done"
        return self.state

    def cancel(self) -> None:
        pass


def test_a_finished_shortlist_is_sent_to_the_page_once(opened, monkeypatch):
    import pandas as pd

    session, app, client = opened
    site = session.problem.site_ids[0]
    row = {"rank": 1, "site_id": site, "site_name": "A site", "in_optimum": True, "regret_pct": 1.5}
    row |= {"forced_open_status": "optimal", "regret_bound_pct": None, "value_pct": 2.0, "near_optimal_share": 0.5}
    row |= {"regret_label": "proven", "value_label": "proven"}
    job = _ShortlistJob(SimpleNamespace(frame=lambda: pd.DataFrame([row]), best=SimpleNamespace(status="optimal")))
    monkeypatch.setattr(session, "job", job)
    page = {"version.data": session.version, "edit-seq.data": session.edits}

    def tick() -> dict:
        return _outputs(_post(app, client, "tick.n_intervals", {"tick.n_intervals": 1, **page}))

    before = session.shortlist
    try:
        tick()  # the page as it is now (whatever it was sent before)
        running = tick()
        assert sorted(running) == ["progress.children", "tick.disabled"] and not running["tick.disabled"]
        job.finish = True
        done = tick()
        assert done["tick.disabled"] and "shortlist: done in 1.0 s" in json.dumps(done["progress.children"])
        assert f"A site ({site})" in json.dumps(done["shortlist-table.children"])
        again = tick()  # not sent again on every tick
        assert sorted(again) == ["progress.children", "tick.disabled"]
    finally:
        session.shortlist = before


def test_a_shortlist_whose_best_plan_is_not_proven_does_not_call_it_the_optimum():
    """The table's heading says "best plan found" and a line says what it is; each figure says what was proven."""
    import pandas as pd

    from catchment.plan import NOT_PROVEN_OPTIMAL
    from solvers.shortlist import FIGURE_LABELS
    from workbench.app import shortlist_block

    row = {"rank": 1, "site_id": "S1", "site_name": "A site", "in_optimum": True, "regret_pct": 0.0}
    row |= {"forced_open_status": "base", "regret_bound_pct": None, "value_pct": 2.0, "near_optimal_share": 0.5}
    row |= {"regret_label": FIGURE_LABELS["at_least"], "value_label": FIGURE_LABELS["estimate"]}

    def shown(status: str) -> str:
        best = SimpleNamespace(status=status, plan=SimpleNamespace(status_label=NOT_PROVEN_OPTIMAL))
        shortlist = SimpleNamespace(
            frame=lambda: pd.DataFrame([row]), best=best, best_source="the solve with S2 forced closed"
        )
        return json.dumps(shortlist_block(SimpleNamespace(shortlist=shortlist)).to_plotly_json(), default=str)

    unproven = shown("feasible")
    assert "in best plan found" in unproven and "in optimum" not in unproven
    assert f"best plan found: {NOT_PROVEN_OPTIMAL}, by the solve with S2 forced closed" in unproven
    assert FIGURE_LABELS["at_least"] in unproven and FIGURE_LABELS["estimate"] in unproven
    proven = shown("optimal")
    assert "in optimum" in proven and "best plan found:" not in proven


def _area_request(kind, choices) -> dict:
    return {
        "output": "area-code.options",
        "outputs": {"id": "area-code", "property": "options"},
        "inputs": [{"id": "area-kind", "property": "value", "value": kind}],
        "state": [{"id": "area-choices", "property": "data", "value": choices}],
        "changedPropIds": ["area-kind.value"],
    }


CLIENTSIDE = {
    "output": "..map-seq.children...map-changed.children..",
    "outputs": [{"id": "map-seq", "property": "children"}, {"id": "map-changed", "property": "children"}],
    "inputs": [{"id": "styles", "property": "data", "value": {}}],
    "changedPropIds": ["styles.data"],
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_area_request("ccg", "x"), "area lists: expected lists of areas by kind ({kind: [[code, name], ...]}), got"),
        (_area_request("ccg", {"ccg": [1, 2]}), "area lists: expected lists of areas by kind"),
        (_area_request("ccg", {"ccg": [["07T", 5]]}), "area lists: expected lists of areas by kind"),
        (_area_request("ccg", [["07T", "07T"]]), "area lists: expected lists of areas by kind"),
        (_area_request([1, 2], {"ccg": []}), "area kind: expected text, got list [1, 2]"),
        (_area_request({"ccg": 1}, {"ccg": []}), "area kind: expected text, got dict"),
        (CLIENTSIDE, "a callback the page runs itself, not one of the server"),
    ],
)
def test_a_bad_value_of_a_callback_without_messages_gets_http_400(opened, caplog, body, expected):
    session, app, client = opened
    plan = session.verdict.plan
    with caplog.at_level(logging.WARNING):
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error.startswith("malformed callback request: ") and expected in error and "\n" not in error, error
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    assert session.verdict.plan == plan
    sound = _area_request("lad", {"lad": [["E09000026", "Redbridge"]], "ccg": []})
    response = client.post("/_dash-update-component", data=json.dumps(sound), content_type="application/json")
    assert response.get_json()["response"]["area-code"]["options"] == [{"label": "Redbridge", "value": "E09000026"}]


#: Triggers that change nothing (the action callback's Cancel; an export that writes no file).
HARMLESS = {ACTION: "cancel.n_clicks", EXPORT: "export-geojson.n_clicks"}


def test_no_value_of_any_callback_is_a_server_error(opened, caplog):
    """Every input and state of every callback, sent as a list, an object or a long text: a
    message in the page (HTTP 200), no update (204) or a malformed request (400); never 500."""
    session, app, client = opened
    plan, seq, version = session.verdict.plan, session.edits, session.version
    for key, spec in app.callback_map.items():
        if "callback" not in spec:  # clientside: refused (see above)
            continue
        harmless = next((v for k, v in HARMLESS.items() if key.startswith(k)), None)
        many = isinstance(spec["output"], (list, tuple))
        outputs = [{"id": o.component_id, "property": o.component_property} for o in spec["output"]] if many else None
        single = None if many else {"id": spec["output"].component_id, "property": spec["output"].component_property}
        fields = [("inputs", n, d) for n, d in enumerate(spec["inputs"])]
        fields += [("state", n, d) for n, d in enumerate(spec["state"])]
        for where, n, d in fields:
            for odd in ([1, 2], {"ccg": [1, 2]}, LONG):
                body = {
                    "output": key,
                    "outputs": outputs if many else single,
                    "inputs": [{"id": x["id"], "property": x["property"]} for x in spec["inputs"]],
                    "state": [{"id": x["id"], "property": x["property"]} for x in spec["state"]],
                    "changedPropIds": [harmless or f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
                }
                body[where][n]["value"] = odd
                if where == "inputs" and harmless is None:
                    body["changedPropIds"] = [f"{d['id']}.{d['property']}"]
                with caplog.at_level(logging.WARNING):
                    response = client.post(
                        "/_dash-update-component", data=json.dumps(body), content_type="application/json"
                    )
                assert response.status_code in (200, 204, 400), (key[:40], d, str(odd)[:40], response.status_code)
    assert not any(r.exc_info for r in caplog.records)
    assert session.edits == seq and session.version == version and session.verdict.plan == plan

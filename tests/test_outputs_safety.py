"""Nothing a user owns is ever lost: the output-folder rule, faults while writing, provenance.

In process (``optimise.main``); the signal tests driving the real command line are in
``test_faults.py``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import optimise
from catchment import outputs
from geodata.errors import OutputLocationError

ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_left(parent: Path) -> list[str]:
    """The engine's hidden staging or backup folders beside an output folder."""
    return sorted(
        p.name for p in parent.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name)
    )


@pytest.fixture
def out(tmp_path, earlier) -> Path:
    """An output folder holding the earlier results."""
    folder = tmp_path / "out"
    shutil.copytree(earlier, folder)
    return folder


@pytest.fixture
def notes(tmp_path) -> Path:
    """A folder of the user's own files."""
    folder = tmp_path / "notes"
    (folder / "drafts").mkdir(parents=True)
    (folder / "minutes.txt").write_text("board minutes\n")
    (folder / "drafts" / "plan.docx").write_bytes(b"\x00draft")
    return folder


# ---------------------------------------------------------------------------- the output-folder rule
def test_user_folder_is_refused_and_untouched(notes, capsys):
    before = snapshot(notes)
    assert optimise.main(["demo", "--out", str(notes), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(notes) in err and outputs.MARKER in err and "Traceback" not in err
    assert snapshot(notes) == before
    assert staging_left(notes.parent) == []


def test_out_dot_in_a_folder_of_notes_deletes_nothing(notes, monkeypatch, capsys):
    monkeypatch.chdir(notes)
    before = snapshot(notes)
    assert optimise.main(["demo", "--out", ".", "--quiet"]) == optimise.EXIT_INPUT
    assert str(notes) in capsys.readouterr().err
    assert snapshot(notes) == before


def test_empty_folder_is_used(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert optimise.main(["demo", "--out", str(folder), "--quiet"]) == optimise.EXIT_OK
    assert {"assignments.csv", "solution.json", outputs.MARKER} <= {p.name for p in folder.iterdir()}
    marker = json.loads((folder / outputs.MARKER).read_text())
    assert marker["written_by"] == "catchment-planner"
    assert staging_left(tmp_path) == []


def test_rerun_replaces_an_engine_written_folder(out, earlier, capsys):
    (out / "assignments.csv").write_text("stale\n")  # so that the replacement shows
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    assert (out / "assignments.csv").read_bytes() == (earlier / "assignments.csv").read_bytes()
    assert staging_left(out.parent) == []


def test_target_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "results"
    target.write_text("mine\n")
    assert optimise.main(["demo", "--out", str(target), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(target) in err and "is a file" in err
    assert target.read_text() == "mine\n"


def test_parent_that_is_a_file_is_refused(tmp_path, capsys):
    parent = tmp_path / "report.pdf"
    parent.write_bytes(b"%PDF")
    target = parent / "sub" / "out"
    assert optimise.main(["demo", "--out", str(target), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(target) in err and f"{parent} is a file" in err
    assert parent.read_bytes() == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


@pytest.fixture
def unwritable(tmp_path):
    """A folder holding a file, where nothing can be created.

    chmod 0o555 for an ordinary user; root ignores it, so as root a read-only tmpfs.
    """
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        (folder / "keep.txt").write_text("keep\n")
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("running as root (chmod does not stop root) and no mount command for a read-only folder")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(
            "running as root (chmod does not stop root) and a read-only tmpfs cannot be mounted: "
            + done.stderr.decode(errors="replace").strip()
        )
    try:
        (folder / "keep.txt").write_text("keep\n")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_unwritable_parent_is_refused_before_any_work(unwritable, monkeypatch, capsys):
    monkeypatch.setattr("catchment.build.build_demo", _refuse)
    target = unwritable / "out"
    assert optimise.main(["demo", "--out", str(target), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(target) in err and ("Permission denied" in err or "Read-only file system" in err), err
    assert "Traceback" not in err
    assert sorted(p.name for p in unwritable.iterdir()) == ["keep.txt"]


def _refuse(*_args, **_kwargs):
    raise AssertionError("work started before the output folder was checked")


@pytest.mark.parametrize(
    ("argv", "stub"),
    [
        (["demo"], "catchment.build.build_demo"),
        (["run", "scenarios/redbridge.toml"], "catchment.scenario.read_scenario"),
        (["evaluate", "scenarios/redbridge.toml", "--plan", __file__], "catchment.scenario.read_scenario"),
        (["shortlist", "demo", "--serial"], "catchment.build.build_demo"),
        (["phase", "demo", "--annual-budget", "1e6"], "catchment.build.build_demo"),
        (["sweep", "scenarios/redbridge-sweep.toml", "--serial"], "catchment.sweep.read_sweep"),
        (["national", "--serial"], "catchment.national.national_subproblems"),
    ],
    ids=["demo", "run", "evaluate", "shortlist", "phase", "sweep", "national"],
)
def test_every_command_checks_the_output_folder_before_any_work(notes, monkeypatch, capsys, argv, stub):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(stub, _refuse)
    before = snapshot(notes)
    assert optimise.main([*argv, "--out", str(notes), "--quiet"]) == optimise.EXIT_INPUT
    assert str(notes) in capsys.readouterr().err
    assert snapshot(notes) == before


def _inputs_inside_out(out: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Command lines whose input (named by the value) sits inside the engine-written folder ``out``."""
    (out / "my_plan.csv").write_text("unit_id,polysystem_id\n")
    shutil.copy(ROOT / "scenarios" / "redbridge.toml", out / "redbridge.toml")
    (out / "data").mkdir()
    (out / "demo-sweep.toml").write_text('[sweep]\nbase = "demo"\n[grid]\nfloor = [1000]\n')
    outside = tmp_path / "sweep.toml"  # a sweep file outside whose base is inside
    outside.write_text(f'[sweep]\nbase = "{out / "redbridge.toml"}"\n[grid]\nfloor = [50000]\n')
    scenario = str(ROOT / "scenarios" / "redbridge.toml")
    return {
        "evaluate --plan": ["evaluate", scenario, "--plan", str(out / "my_plan.csv")],
        "compare --plan": ["compare", scenario, "--plan", str(out / "my_plan.csv"), "--against", "pcn"],
        "compare --against": ["compare", scenario, "--plan", "pcn", "--against", str(out / "my_plan.csv")],
        "phase --plan": ["phase", "demo", "--annual-budget", "1e6", "--plan", str(out / "my_plan.csv")],
        "run scenario": ["run", str(out / "redbridge.toml")],
        "shortlist scenario": ["shortlist", str(out / "redbridge.toml"), "--serial"],
        "run --data-dir": ["run", scenario, "--data-dir", str(out / "data")],
        "sweep file": ["sweep", str(out / "demo-sweep.toml"), "--serial"],
        "sweep base": ["sweep", str(outside), "--serial"],
        "national --file": ["national", "--serial", "--file", f"list_sizes={out / 'my_plan.csv'}"],
    }


_WORK = {  # what each command does first after checking the output folder
    "evaluate --plan": "catchment.scenario.read_scenario",
    "compare --plan": "catchment.scenario.read_scenario",
    "compare --against": "catchment.scenario.read_scenario",
    "phase --plan": "catchment.build.build_demo",
    "run scenario": "catchment.scenario.read_scenario",
    "shortlist scenario": "catchment.scenario.read_scenario",
    "run --data-dir": "catchment.scenario.read_scenario",
    "sweep file": "catchment.sweep.sweep_bases",
    "sweep base": "catchment.scenario.read_scenario",
    "national --file": "catchment.national.national_subproblems",
}


@pytest.mark.parametrize("case", list(_WORK))
def test_an_input_inside_the_output_folder_is_refused_before_any_work(out, tmp_path, monkeypatch, capsys, case):
    """Replacing ``--out`` would delete a file the command reads (a plan saved into an earlier run's folder)."""
    argv = _inputs_inside_out(out, tmp_path)[case]
    monkeypatch.setattr(_WORK[case], _refuse)
    before = snapshot(out)
    assert optimise.main([*argv, "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "holds an input of this command" in err and str(out) in err and "Traceback" not in err
    assert snapshot(out) == before


def test_inputs_inside_the_output_folder(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    outputs._write_marker(out)
    (tmp_path / "out2").mkdir()
    (tmp_path / "elsewhere.csv").write_text("x\n")
    (out / "link.csv").symlink_to(tmp_path / "elsewhere.csv")  # deleting out deletes the link
    (tmp_path / "into").symlink_to(out / "sub")  # a path through a link into out
    inputs = {
        "a": out / "sub" / "plan.csv",
        "b": tmp_path / "out2" / "plan.csv",
        "c": out,
        "d": out / "link.csv",
        "e": tmp_path / "into" / "plan.csv",
        "f": tmp_path / "elsewhere.csv",
        "g": out / ".." / "out2",
    }
    assert outputs.inputs_inside(out, inputs) == {k: inputs[k] for k in "acde"}
    with pytest.raises(OutputLocationError, match=r"holds an input of this command \(--plan ") as info:
        outputs.check_output_dir(out, inputs={"--plan": inputs["a"], "--against": inputs["b"]})
    assert str(inputs["a"]) in str(info.value) and str(inputs["b"]) not in str(info.value)
    assert outputs.check_output_dir(out, inputs={"--against": inputs["b"]}) == out.resolve()


# ---------------------------------------------------------------------------- faults while writing
def _enospc() -> Exception:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _gdal_full() -> Exception:
    from pyogrio.errors import DataSourceError

    return DataSourceError("sqlite3_exec(COMMIT) failed: database or disk is full")


def _eacces() -> Exception:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES))


@pytest.mark.parametrize(
    ("where", "fault", "said"),
    [
        ("pandas.DataFrame.to_csv", _enospc, "No space left on device"),
        ("geopandas.GeoDataFrame.to_file", _gdal_full, "disk is full"),
        ("maps.write_plan_outputs", _eacces, "Permission denied"),
    ],
    ids=["csv-enospc", "gpkg-disk-full", "maps-eacces"],
)
def test_write_failure_exits_2_and_keeps_earlier_results(out, monkeypatch, capsys, where, fault, said):
    before = snapshot(out)
    module, _, name = where.rpartition(".")
    owner = pytest.importorskip(module.split(".")[0])
    for part in module.split(".")[1:]:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    def failing(*args, **kwargs):
        if any(".tmp" in str(a) for a in (*args, *kwargs.values()) if isinstance(a, (str, Path))):
            raise fault()  # writing into the staging folder
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(out) in err and said in err and "intact" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2.5 MB filesystem (tmpfs): room for one demo result, not two."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2500k", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_full_disk_exits_2_and_keeps_earlier_results(tiny_disk, capsys):
    out = tiny_disk / "out"
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    before = snapshot(out)
    capsys.readouterr()
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert str(out) in err and ("No space left" in err or "disk is full" in err), err
    assert snapshot(out) == before
    assert staging_left(tiny_disk) == []


def test_ctrl_c_while_writing_writes_nothing(out, monkeypatch, capsys):
    before = snapshot(out)

    def interrupted(folder, *_args, **_kwargs):
        assert Path(folder).name.endswith(".tmp") and (Path(folder) / "solution.json").is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr("maps.write_plan_outputs", interrupted)
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_INTERRUPTED
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"interrupted (Ctrl-C): nothing was written; the earlier results in {out} are intact"]
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


# ---------------------------------------------------------------------------- the swap and a killed run
def _write(folder: Path, text: str) -> None:
    (folder / "assignments.csv").write_text(text)


def test_failure_between_the_renames_puts_the_earlier_results_back(out, monkeypatch):
    before = snapshot(out)
    real_replace = os.replace
    calls = []

    def second_rename_fails(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # the earlier results are aside; the new ones fail to move in
            raise RuntimeError("injected crash between the renames")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(RuntimeError, match="injected"):
        with outputs.atomic_output_dir(out) as staging:
            _write(staging, "new\n")
    monkeypatch.undo()
    assert calls[0] == ("out", f".out.old-{os.getpid()}")
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_results_moved_aside_by_a_killed_swap_are_restored(out):
    """Killed after the first rename: neither NAME exists, only ``.NAME.old-<pid>``; the next run puts it back."""
    before = snapshot(out)
    pid = _dead_pid()
    aside = out.with_name(f".out.old-{pid}")
    os.replace(out, aside)
    staging = out.with_name(f".out.{pid}.tmp")
    shutil.copytree(aside, staging)  # the killed run's (complete but unswapped) new results
    assert outputs.check_output_dir(out) == out
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


def test_killed_after_the_swap_old_copy_is_removed(out):
    pid = _dead_pid()
    old = out.with_name(f".out.old-{pid}")
    shutil.copytree(out, old)
    _write(out, "new\n")
    outputs.check_output_dir(out)
    assert (out / "assignments.csv").read_text() == "new\n"
    assert staging_left(out.parent) == []


def test_only_the_engines_own_stale_folders_of_dead_runs_are_removed(out, tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    stale = out.with_name(f".out.{dead}.tmp")
    running = out.with_name(f".out.{alive}.tmp")
    lookalike = out.with_name(f".out.{dead + 1}.tmp")  # same name pattern, no marker: not the engine's
    other = out.with_name(f".other.{dead}.tmp")  # another output folder's: not ours to judge
    for folder in (stale, running, other):
        shutil.copytree(out, folder)
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("mine\n")
    outputs.check_output_dir(out)
    assert not stale.exists()
    assert running.is_dir() and other.is_dir()
    assert (lookalike / "mine.txt").read_text() == "mine\n"


def test_a_failed_block_leaves_the_target_and_no_new_folders(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    with pytest.raises(ValueError, match="boom"):
        with outputs.atomic_output_dir(target) as staging:
            _write(staging, "partial\n")
            raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_check_output_dir_errors_name_the_folder(tmp_path, notes):
    with pytest.raises(OutputLocationError) as info:
        outputs.check_output_dir(notes)
    assert info.value.folder == notes and str(notes) in str(info.value)


def test_a_mount_point_is_refused_before_any_work(tmp_path, monkeypatch):
    """An empty mount point (a container's volume): renaming it fails (EBUSY) after the solve."""
    out = tmp_path / "volume"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(outputs.os.path, "ismount", lambda p: Path(p) == out or real(p))
    with pytest.raises(OutputLocationError, match="mount point") as info:
        outputs.check_output_dir(out)
    assert str(out / "results") in str(info.value)
    assert list(tmp_path.iterdir()) == [out] and list(out.iterdir()) == []


@pytest.mark.parametrize("inside", [False, True])
def test_the_current_folder_or_one_holding_it_is_refused(tmp_path, monkeypatch, inside):
    """``--out .`` (or a parent of the working folder) would leave the user's shell in a deleted folder."""
    out = tmp_path / "here"
    (out / "sub").mkdir(parents=True)
    outputs._write_marker(out)
    monkeypatch.chdir(out / "sub" if inside else out)
    with pytest.raises(OutputLocationError, match="current folder"):
        outputs.check_output_dir(".." if inside else ".")
    assert sorted(p.name for p in out.iterdir()) == sorted([outputs.MARKER, "sub"])


def test_a_swap_the_filesystem_refuses_is_a_location_error(tmp_path, monkeypatch):
    """EBUSY from the final rename (a mount point missed by the check): a clear error, earlier results intact."""
    out = tmp_path / "out"
    with outputs.atomic_output_dir(out) as staging:
        _write(staging, "earlier\n")
    before = snapshot(out)
    real = os.replace

    def busy(src, dst):  # noqa: ANN001, ANN202
        if Path(src) == out:
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", busy)
    with pytest.raises(OutputLocationError):
        with outputs.atomic_output_dir(out) as staging:
            _write(staging, "new\n")
    assert snapshot(out) == before and staging_left(tmp_path) == []


# ---------------------------------------------------------------------------- provenance
def _git_head() -> str | None:
    if not (ROOT / ".git").exists():
        return None
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_provenance_in_solution_json_names_engine_commit_and_scenario_hash(tmp_path, earlier):
    demo = json.loads((earlier / "solution.json").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert demo["engine"]["version"] == version
    assert demo["engine"]["git_commit"] == _git_head()
    assert demo["engine"]["python"].count(".") == 2
    assert demo["scenario_sha256"] is None  # the built-in demo has no scenario file

    scenario = tmp_path / "redbridge.toml"
    shutil.copy(ROOT / "scenarios" / "redbridge.toml", scenario)
    with scenario.open("a") as fh:
        fh.write("\n# a comment changes the file's hash\n")
    out = tmp_path / "rb"
    assert optimise.main(["run", str(scenario), "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    solution = json.loads((out / "solution.json").read_text())
    assert solution["scenario_sha256"] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert solution["scenario_file"] == str(scenario)
    assert solution["engine"]["git_commit"] == _git_head()


def test_provenance_records_the_sweep_file():
    sweep = ROOT / "scenarios" / "redbridge-sweep.toml"
    record = outputs.provenance(scenario_file=ROOT / "scenarios" / "redbridge.toml", sweep_file=sweep)
    assert record["sweep_sha256"] == hashlib.sha256(sweep.read_bytes()).hexdigest()
    assert record["engine"] == outputs.engine_info()


def test_national_unknown_ccg_exits_2_naming_it(out, real_data, capsys):
    before = snapshot(out)
    code = optimise.main(
        ["national", "--ccg", "ZZZ", "08N", "--serial", "--out", str(out), "--data-dir", str(real_data), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INPUT
    assert "--ccg" in err and "ZZZ" in err and "not in column 'CCG_CODE'" in err and "Traceback" not in err
    assert "08N" not in err.split("codes there")[0]  # a known code is not reported as unknown
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


@pytest.mark.parametrize(
    ("argv", "summary"),
    [
        (["phase", "demo", "--years", "4", "--annual-budget", "1.5e6", "--carry-over"], "phasing.json"),
        (["national", "--ccg", "08N", "--serial"], "national.json"),
    ],
    ids=["phasing", "national"],
)
def test_summaries_record_the_same_provenance(tmp_path, real_data, argv, summary):
    out = tmp_path / "out"
    assert optimise.main([*argv, "--out", str(out), "--data-dir", str(real_data), "--quiet"]) == optimise.EXIT_OK
    figures = json.loads((out / summary).read_text())
    assert figures["engine"] == outputs.engine_info()
    assert figures["engine"]["git_commit"] == _git_head()
    assert "scenario_sha256" in figures and figures["scenario_sha256"] is None  # the demo; England's files
    assert (out / outputs.MARKER).is_file()


def _run(out: Path, text: str) -> None:
    """What a command does: check the folder before the work, then write it (which checks again)."""
    outputs.check_output_dir(out)
    with outputs.atomic_output_dir(out) as staging:
        _write(staging, text)


def _leftover_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "could not all be deleted" in r.getMessage()]


def test_earlier_results_that_cannot_be_deleted_are_named_once_per_run(tmp_path, monkeypatch, caplog):
    """A folder inside the earlier results made read-only: the new results land, the leftover is
    named once by each run (not by every check of the folder) until it can be deleted."""
    out = tmp_path / "out"
    with outputs.atomic_output_dir(out) as staging:
        _write(staging, "earlier\n")
        (staging / "locked").mkdir()
        (staging / "locked" / "map.png").write_bytes(b"png")
    locked = {"unlock": False}
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - os.unlink's signature
        if not locked["unlock"] and os.path.basename(os.fspath(path)) == "map.png":
            raise PermissionError(errno.EPERM, "Operation not permitted", os.fspath(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    runs = []
    for text in ("new\n", "newer\n", "newest\n"):
        caplog.clear()
        with caplog.at_level("WARNING", logger="catchment.outputs"):
            _run(out, text)
        runs.append(_leftover_warnings(caplog))
        assert (out / "assignments.csv").read_text() == text
    leftover = [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]
    assert len(leftover) == 1 and (leftover[0] / outputs.MARKER).is_file()  # still known as the engine's
    assert [len(warned) for warned in runs] == [1, 1, 1]
    assert all(f"moved aside to {leftover[0]} but could not all be deleted" in w[0] for w in runs)
    assert "delete that folder yourself" in runs[0][0]
    shutil.rmtree(out)  # the user deletes the results: the partly deleted leftover is not put back
    outputs.check_output_dir(out)
    assert not out.exists()
    locked["unlock"] = True  # the user fixed the permissions: the next run deletes the leftover
    caplog.clear()
    with caplog.at_level("WARNING", logger="catchment.outputs"):
        _run(out, "last\n")
    assert _leftover_warnings(caplog) == [] and staging_left(tmp_path) == []


def test_a_file_the_scenario_reads_inside_the_output_folder_is_refused(out, tmp_path, real_data, monkeypatch, capsys):
    """A ``[data]`` file saved into an earlier run's folder: replacing ``--out`` would delete it.

    Known only once the scenario is built, so it is checked then, before any solve.
    """
    registrations = out / "registrations.parquet"
    shutil.copy(real_data / "england" / "gp-reg-pat-prac-lsoa_2022.parquet", registrations)
    scenario = tmp_path / "redbridge.toml"
    text = (ROOT / "scenarios" / "redbridge.toml").read_text(encoding="utf-8")
    scenario.write_text(f'{text}\n[data]\nregistrations = "{registrations}"\n', encoding="utf-8")
    monkeypatch.setattr("solvers.batch.solve_and_check", _refuse)
    before = snapshot(out)
    assert optimise.main(["run", str(scenario), "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert f"holds an input of this command (a file the scenario reads {registrations})" in err
    assert "Traceback" not in err and snapshot(out) == before


def test_a_scenario_whose_files_lie_outside_the_output_folder_runs(out, tmp_path, real_data, capsys):
    """The check of the files a scenario reads lets a scenario whose files lie elsewhere run (the usual case)."""
    scenario = tmp_path / "redbridge.toml"
    scenario.write_text((ROOT / "scenarios" / "redbridge.toml").read_text(encoding="utf-8"), encoding="utf-8")
    code = optimise.main(["run", str(scenario), "--out", str(out), "--data-dir", str(real_data), "--quiet"])
    assert code == optimise.EXIT_OK, capsys.readouterr().err
    assert (out / "solution.json").exists()

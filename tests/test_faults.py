"""Ctrl-C and kill at each stage of a real command-line run: nothing is written, earlier results stay.

Each run is ``python optimise.py ...`` in its own process group; a signal is sent to the
whole group (as a terminal's Ctrl-C does) once the log shows that the stage has begun.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import optimise
from catchment.outputs import MARKER

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "redbridge-lsoa.toml"  # its MIP (contiguity) runs for several seconds
#: Log lines while loading. For `run`, a line in the middle of reading the files: a Ctrl-C sent
#: the instant the first GeoPackage read began was once lost in 4 suite runs (cause not found).
LOADING = {"demo": "building the demo district", "run": "LSOAs selected"}
SOLVING = "solving with highs"
WRITING = "the plan passed the independent validator"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_left(parent: Path) -> list[str]:
    return sorted(
        p.name for p in parent.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name)
    )


def _default_sigint() -> None:
    """In the child, before Python starts: Ctrl-C as a terminal sends it, even when the tests
    themselves run with SIGINT ignored (a background job of a shell), which Python would keep."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_and_signal(
    argv: list[str], *, cache: Path, data: Path, when: str, sig: int, delay: float = 0.0
) -> tuple[int, list[str], list[str]]:
    """Run the command line; once a log line holds ``when``, wait ``delay`` s and signal its process group."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATCHMENT_CACHE_DIR": str(cache), "CATCHMENT_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "optimise.py"), *argv],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )
    err: list[str] = []
    out: list[str] = []
    seen = threading.Event()

    def read(stream, lines: list[str]) -> None:  # noqa: ANN001
        for line in stream:
            lines.append(line.rstrip("\n"))
            if when in line:
                seen.set()

    readers = [
        threading.Thread(target=read, args=(proc.stderr, err)),
        threading.Thread(target=read, args=(proc.stdout, out)),
    ]
    for reader in readers:
        reader.start()
    try:
        assert seen.wait(600), f"the run never logged {when!r}:\n" + "\n".join(err)
        time.sleep(delay)
        assert proc.poll() is None, "the run ended before the signal:\n" + "\n".join(err)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for reader in readers:
            reader.join()
        proc.stdout.close()
        proc.stderr.close()
    return proc.returncode, err, out


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, real_data) -> Path:
    """A cache holding the scenario's built problem (so that its runs reach the solver soon)."""
    cache = tmp_path_factory.mktemp("warm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(cache))
        from catchment.build import build_from_scenario
        from catchment.scenario import read_scenario

        build_from_scenario(read_scenario(SCENARIO), data_dir=real_data)
    return cache


@pytest.fixture
def out(tmp_path, earlier) -> Path:
    folder = tmp_path / "out"
    shutil.copytree(earlier, folder)
    return folder


def assert_interrupted(code: int, err: list[str], stdout: list[str], out: Path, before: dict[str, bytes]) -> None:
    """Exit 130, one line saying so (the last), no traceback, no plan, earlier results and nothing else."""
    text = "\n".join(err)
    assert code == optimise.EXIT_INTERRUPTED, text
    said = [line for line in err if "interrupted" in line]
    assert said == [f"interrupted (Ctrl-C): nothing was written; the earlier results in {out} are intact"], text
    assert [line for line in err if line.strip()][-1] == said[0]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert not any("polysystems covering" in line for line in stdout)
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


@pytest.mark.parametrize("command", ["demo", "run"])
def test_ctrl_c_while_loading(command, out, tmp_path, real_data):
    before = snapshot(out)
    argv = ["demo"] if command == "demo" else ["run", str(SCENARIO)]
    code, err, stdout = run_and_signal(
        [*argv, "--out", str(out)], cache=tmp_path / "cold", data=real_data, when=LOADING[command], sig=signal.SIGINT
    )
    assert_interrupted(code, err, stdout, out, before)
    assert not any(SOLVING in line for line in err)


def test_ctrl_c_while_solving_writes_nothing_and_no_heuristic_plan(out, warm_cache, real_data):
    """HiGHS used to swallow Ctrl-C and stop with no plan: the heuristic's plan was written, exit 0."""
    before = snapshot(out)
    delay = 3.0  # past building the model: HiGHS is running (the solve takes 10-25 s)
    code, err, stdout = run_and_signal(
        ["run", str(SCENARIO), "--out", str(out)],
        cache=warm_cache,
        data=real_data,
        when=SOLVING,
        sig=signal.SIGINT,
        delay=delay,
    )
    finished = [float(m[1]) for line in err if (m := re.search(r"solver finished in ([\d.]+) s", line))]
    if finished and finished[0] < delay:
        pytest.skip(f"the solve ended ({finished[0]} s) before the signal was sent ({delay} s)")
    assert_interrupted(code, err, stdout, out, before)
    text = "\n".join(err + stdout)
    assert not finished and "within the time limit" not in text and "heuristic" not in text


def test_ctrl_c_while_writing(out, tmp_path, real_data):
    before = snapshot(out)
    code, err, stdout = run_and_signal(
        ["demo", "--out", str(out)], cache=tmp_path / "cache", data=real_data, when=WRITING, sig=signal.SIGINT
    )
    assert_interrupted(code, err, stdout, out, before)


def test_kill_while_solving_keeps_earlier_results(out, warm_cache, real_data):
    before = snapshot(out)
    code, _, _ = run_and_signal(
        ["run", str(SCENARIO), "--out", str(out)],
        cache=warm_cache,
        data=real_data,
        when=SOLVING,
        sig=signal.SIGKILL,
        delay=1.0,
    )
    assert code == -signal.SIGKILL
    assert snapshot(out) == before
    assert staging_left(out.parent) == []


def test_kill_while_writing_keeps_earlier_results_and_the_next_run_tidies(out, tmp_path, real_data):
    before = snapshot(out)
    code, _, _ = run_and_signal(
        ["demo", "--out", str(out)],
        cache=tmp_path / "cache",
        data=real_data,
        when=WRITING,
        sig=signal.SIGKILL,
        delay=0.5,
    )
    assert code == -signal.SIGKILL
    assert snapshot(out) == before
    left = staging_left(out.parent)
    assert all((out.parent / name / MARKER).is_file() for name in left)  # only the engine's own, marked
    (out / "assignments.csv").write_text("earlier\n")  # to see the next run replace it

    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATCHMENT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "optimise.py"), "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == optimise.EXIT_OK, done.stderr
    assert staging_left(out.parent) == []
    assert (out / "assignments.csv").read_bytes() == before["assignments.csv"]


def test_ctrl_c_stops_the_neighbourhood_search_and_its_worker_processes(out, warm_cache, real_data, tmp_path):
    """The search's sub-models run in a process pool: the workers leave Ctrl-C to the main process."""
    scenario = tmp_path / "lns.toml"
    scenario.write_text(SCENARIO.read_text().replace("[solver]\n", '[solver]\nmethod = "lns"\nworkers = 2\n'))
    before = snapshot(out)
    code, err, stdout = run_and_signal(
        ["run", str(scenario), "--out", str(out)],
        cache=warm_cache,
        data=real_data,
        when="solvers.lns: start (",
        sig=signal.SIGINT,
        delay=1.0,
    )
    if any("solver finished" in line for line in err):
        pytest.skip("the search ended before the signal was sent")
    assert_interrupted(code, err, stdout, out, before)


def test_ctrl_c_stops_a_shortlist_on_a_local_dask_cluster(out, tmp_path, real_data):
    before = snapshot(out)
    code, err, stdout = run_and_signal(
        ["shortlist", "demo", "--workers", "2", "--out", str(out)],
        cache=tmp_path / "cache",
        data=real_data,
        when="started Dask cluster",
        sig=signal.SIGINT,
        delay=3.0,
    )
    text = "\n".join(err)
    if "SHORTLIST of" in "\n".join(stdout):
        pytest.skip("the shortlist ended before the signal was sent")
    assert code == optimise.EXIT_INTERRUPTED, text
    said = [line for line in err if "interrupted" in line]
    assert said == [f"interrupted (Ctrl-C): nothing was written; the earlier results in {out} are intact"], text
    assert "Traceback" not in text
    assert snapshot(out) == before
    assert staging_left(out.parent) == []

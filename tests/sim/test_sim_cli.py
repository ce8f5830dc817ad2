"""``python -m borgsim`` for real at a tiny size: the table on stdout, the bar on stderr, ``--json``,
``--plot`` (valid PNG and SVG with their axis labels), ``python -m borgsim.plot`` with two files on one chart,
bad arguments, the durable store and the 3-member Raft cluster in child processes."""
from __future__ import annotations

import importlib.metadata
import json
import pathlib
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import psutil
import pytest

from borgsim import plot as simplot

TINY = ["--nodes", "4", "--pods", "24", "--deployments", "3", "--heartbeat", "0.5", "--node-grace", "2",
        "--toleration-seconds", "1", "--phase-timeout", "120"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sim(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "borgsim", *args], capture_output=True, text=True, timeout=timeout)


def svg_text(path: pathlib.Path) -> str:
    root = ET.parse(path).getroot()
    return " ".join(el.text for el in root.iter() if el.text)


def test_a_tiny_run_prints_the_table_writes_json_and_draws_the_figures(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("matplotlib")
    out, figs = tmp_path / "run.json", tmp_path / "figs"
    proc = sim(*TINY, "--json", str(out), "--plot", str(figs))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["phase", "pods", "seconds"] and "API writes/s" in lines[0]
    assert lines[2].split()[:2] == ["density", "24"] and lines[3].split()[:3] == ["rolling", "update", "24"]
    assert "4 hollow nodes, 24 pods in 3 Deployments, store: memory" in proc.stdout
    assert "peak RSS" in proc.stdout and "] 100% density 24/24" in proc.stderr  # the bar on stderr only
    assert "%" not in proc.stdout.split("\n\n")[0]
    result = json.loads(out.read_text())
    assert [p["name"] for p in result["phases"]][:2] == ["density", "rolling update"]
    assert result["timeline"] and result["config"]["nodes"] == 4
    assert result["gc"] == "off" and isinstance(result["gc_cycles_collected_at_end"], int)
    assert f"gc: off ({result['gc_cycles_collected_at_end']:,} cycles collected at the end);" in proc.stdout
    for stem in ("sim-running", "sim-startup-cdf"):
        assert (figs / f"{stem}.png").read_bytes().startswith(PNG_MAGIC)
    running, cdf = svg_text(figs / "sim-running.svg"), svg_text(figs / "sim-startup-cdf.svg")
    assert "seconds since the start" in running and "pods Running" in running and "rolling update" in running
    assert "pod startup latency, created -> Running (s)" in cdf and "fraction of pods" in cdf
    assert "SLO: p99 <= 5 s" in cdf

    # two saved runs on one chart, labelled by file
    other = tmp_path / "again.json"
    other.write_text(out.read_text())
    assert simplot.main([str(out), str(other), "--out", str(tmp_path / "cmp")]) == 0
    cdf = svg_text(tmp_path / "cmp" / "sim-startup-cdf.svg")
    assert "run: density" in cdf and "again: density" in cdf


def test_bad_arguments_exit_2_naming_the_setting() -> None:
    proc = sim("--nodes", "4", "--heartbeat", "5", "--node-grace", "8")
    assert proc.returncode == 2
    assert "heartbeat_interval: invalid value 5.0" in proc.stderr and proc.stdout == ""
    bad = sim("--pods", "2", "--deployments", "3")
    assert bad.returncode == 2 and "deployments: invalid value 3" in bad.stderr


def test_plot_of_a_file_that_is_not_results_is_refused(tmp_path: pathlib.Path, capsys) -> None:
    bad = tmp_path / "bench.json"
    bad.write_text("[]")
    assert simplot.main([str(bad), "--out", str(tmp_path / "x")]) == 2
    assert str(bad) in capsys.readouterr().err


def test_durable_store_keeps_the_objects_in_the_data_dir(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    proc = sim("--nodes", "3", "--pods", "9", "--deployments", "3", "--no-rolling-update",
               "--failure-fraction", "0", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "store: durable" in proc.stdout
    import kvstore
    import objects

    store = kvstore.open(str(data))
    try:
        pods = objects.Registry(store).list("Pod", "density")
        assert len(pods) == 9 and all(p.spec.node_name for p in pods)
    finally:
        store.close()


def test_raft_cluster_runs_with_two_member_processes_that_end_with_it(tmp_path: pathlib.Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "borgsim", "--nodes", "3", "--pods", "9", "--deployments", "3",
                             "--no-rolling-update", "--failure-fraction", "0", "--cluster", "--data-dir",
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    members: set[int] = set()
    try:
        watcher = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while proc.poll() is None and not members and time.monotonic() < deadline:
            try:
                members = {c.pid for c in watcher.children() if "borgsim.member" in " ".join(c.cmdline())}
            except psutil.Error:  # a child that ended between the listing and its command line
                pass
            time.sleep(0.05)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err[-3000:]
    assert "store: raft-3" in out and "density" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member0", "member1", "member2"]
    assert len(members) == 2
    assert not [pid for pid in members if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_the_console_script_is_the_simulation() -> None:
    try:
        (entry,) = importlib.metadata.entry_points(group="console_scripts", name="borgkit-sim")
    except ValueError:
        pytest.skip("borgkit is not installed in this environment (pip install -e .)")
    assert entry.value == "borgsim.cli:main"


def test_the_collector_is_tuned_while_the_scenario_runs_and_restored_after() -> None:
    import gc

    from borgsim.gctuning import SIMULATION_THRESHOLDS, tuned_gc

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    marker = [object()]  # a tracked container alive before the block: frozen inside it
    with tuned_gc():
        assert gc.get_threshold() == SIMULATION_THRESHOLDS
        assert gc.get_freeze_count() > frozen
        assert not any(ref is marker for ref in gc.get_objects())
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    assert any(ref is marker for ref in gc.get_objects())
    with pytest.raises(ValueError, match=r"thresholds: invalid value \(0, 10, 10\)"):
        with tuned_gc((0, 10, 10)):
            pass
    assert gc.get_threshold() == before


def test_the_collector_is_off_while_the_scenario_runs_and_the_cycles_left_are_collected_after() -> None:
    import gc

    from borgsim.gctuning import collector_off

    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    marker = [object()]  # a tracked container alive before the block: frozen inside it
    with collector_off() as cycles:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > frozen
        assert not any(ref is marker for ref in gc.get_objects())
        a: list = []
        b: list = [a]
        a.append(b)  # a cycle only the collector can free
        del a, b
        assert cycles == []
    assert cycles[0] >= 2  # the two lists, freed on leaving
    assert gc.isenabled() == enabled and gc.get_freeze_count() == frozen
    assert any(ref is marker for ref in gc.get_objects())


def test_each_gc_setting_runs_and_the_footer_says_which() -> None:
    plain_args = ("--no-rolling-update", "--failure-fraction", "0")
    off, tuned, plain = (sim(*TINY, *plain_args), sim(*TINY, *plain_args, "--gc", "tuned"),
                         sim(*TINY, *plain_args, "--gc", "python"))
    assert off.returncode == tuned.returncode == plain.returncode == 0, \
        off.stderr[-2000:] + tuned.stderr[-2000:] + plain.stderr[-2000:]
    assert re.search(r"store: memory; gc: off \([\d,]+ cycles collected at the end\);", off.stdout), off.stdout
    assert "store: memory; gc: tuned;" in tuned.stdout and "store: memory; gc: python;" in plain.stdout
    assert "; cpus: one (cpu " in off.stdout or "; cpus: all" in off.stdout
    bad = sim(*TINY, "--gc", "none")
    assert bad.returncode == 2 and "--gc: invalid choice: 'none'" in bad.stderr


def test_the_switch_interval_is_set_for_the_run_and_restored_after() -> None:
    from borgsim.switching import SIMULATION_SWITCH_INTERVAL, switch_interval

    before = sys.getswitchinterval()
    with switch_interval():
        assert sys.getswitchinterval() == pytest.approx(SIMULATION_SWITCH_INTERVAL)
        with switch_interval(0.001):
            assert sys.getswitchinterval() == pytest.approx(0.001)
        assert sys.getswitchinterval() == pytest.approx(SIMULATION_SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before
    for bad in (0, -1.0, 2.0, float("nan"), True, "0.01"):
        with pytest.raises(ValueError, match=r"switch interval: invalid value .*: must be a number of seconds > 0"):
            with switch_interval(bad):  # type: ignore[arg-type]
                pass
        assert sys.getswitchinterval() == before


def test_a_bad_switch_interval_is_refused_before_anything_starts() -> None:
    bad = sim(*TINY, "--switch-interval", "0")
    assert bad.returncode == 2
    assert "borgkit-sim: --switch-interval: invalid value 0.0: must be a number of seconds > 0 and <= 1" in bad.stderr
    assert "starting" not in bad.stderr


def test_one_cpu_pins_every_thread_inside_the_block_and_gives_the_cpus_back() -> None:
    import os
    import threading

    from borgsim.affinity import one_cpu

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs Linux and at least two allowed CPUs")
    allowed = os.sched_getaffinity(0)
    stop = threading.Event()
    before = threading.Thread(target=stop.wait, args=(30,))  # a thread already running is moved too
    before.start()
    try:
        with one_cpu() as cpu:
            assert cpu in allowed
            seen: list[set[int]] = []
            inside = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
            inside.start()
            inside.join(10)
            assert seen == [{cpu}]  # a thread started inside inherits the pin
            assert all(os.sched_getaffinity(int(t)) == {cpu} for t in os.listdir("/proc/self/task"))
        assert all(os.sched_getaffinity(int(t)) == allowed for t in os.listdir("/proc/self/task"))
        with pytest.raises(ValueError, match=r"cpu: invalid value 4096: must be one of this process's CPUs"):
            with one_cpu(4096):
                pass
        assert os.sched_getaffinity(0) == allowed
    finally:
        stop.set()
        before.join(10)

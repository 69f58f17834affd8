"""The critical-path-first order of dbt's queue (segmentation.dbt_schedule), on dbt's own
GraphQueue with a small graph: which ready node it hands out, and when."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
from dbt.graph.queue import GraphQueue

from segmentation.dbt_schedule import bottom_levels, critical_path_first, record_times

# a long chain under z_root, a short leaf beside it: dbt's depth order (both are depth 0,
# ties by name) would hand out a_leaf first
EDGES = [("model.p.z_root", "model.p.z_mid"), ("model.p.z_mid", "model.p.z_end")]
TIMES = {"model.p.z_root": 1.0, "model.p.z_mid": 5.0, "model.p.z_end": 5.0, "model.p.a_leaf": 3.0}


class _Manifest:
    def expect(self, unique_id: str) -> SimpleNamespace:
        return SimpleNamespace(unique_id=unique_id)


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph(EDGES)
    graph.add_node("model.p.a_leaf")
    return graph


def _queue() -> GraphQueue:
    graph = _graph()
    return GraphQueue(graph, _Manifest(), set(graph.nodes))


def test_bottom_level_is_own_time_plus_longest_chain_below() -> None:
    levels = bottom_levels(_graph(), {**TIMES, "model.p.z_end": 5.0})
    assert levels == {
        "model.p.z_end": 5.0,
        "model.p.z_mid": 10.0,
        "model.p.z_root": 11.0,
        "model.p.a_leaf": 3.0,
    }
    # nodes never timed count a default (models 1 s, tests 0.2 s)
    graph = nx.DiGraph([("model.p.m", "test.p.t")])
    assert bottom_levels(graph, {}) == {"test.p.t": 0.2, "model.p.m": 1.2}


def test_recorded_times_are_averaged_and_bad_files_ignored(tmp_path: Path) -> None:
    times = tmp_path / "node_times.json"
    results = tmp_path / "run_results.json"
    results.write_text(json.dumps({"results": [{"unique_id": "model.p.a", "execution_time": 4}]}))
    record_times(results, times)
    assert json.loads(times.read_text()) == {"model.p.a": 4.0}
    results.write_text(json.dumps({"results": [{"unique_id": "model.p.a", "execution_time": 2}]}))
    record_times(results, times)
    assert json.loads(times.read_text()) == {"model.p.a": 3.0}
    (tmp_path / "missing.json").unlink(missing_ok=True)
    record_times(tmp_path / "missing.json", times)  # a command that wrote no results
    assert json.loads(times.read_text()) == {"model.p.a": 3.0}
    times.write_text("not json")
    record_times(results, times)
    assert json.loads(times.read_text()) == {"model.p.a": 2.0}


def test_dbt_default_order_is_by_depth_then_name() -> None:
    # the behaviour the patch changes; if dbt changes it, this test says so
    assert _queue().get().unique_id == "model.p.a_leaf"


def test_longest_chain_first_and_only_when_a_thread_is_free(tmp_path: Path) -> None:
    times = tmp_path / "node_times.json"
    times.write_text(json.dumps(TIMES))
    original = (GraphQueue._get_scores, GraphQueue.get)
    with critical_path_first(times, threads=1):
        queue = _queue()
        assert queue.get().unique_id == "model.p.z_root"
        # one thread, busy with z_root: the next node is handed out only when it is done,
        # and then it is z_mid (ready only now, chain 10 s), not a_leaf (ready all along, 3 s)
        got: list[str] = []
        waiter = threading.Thread(target=lambda: got.append(queue.get().unique_id))
        waiter.start()
        time.sleep(0.3)
        assert got == []
        queue.mark_done("model.p.z_root")
        waiter.join(timeout=5)
        assert got == ["model.p.z_mid"]
    assert (GraphQueue._get_scores, GraphQueue.get) == original
    assert _queue().get().unique_id == "model.p.a_leaf"


def test_the_private_queue_api_the_patch_needs_is_there() -> None:
    """critical_path_first patches dbt's private GraphQueue and quietly keeps dbt's own order
    when it cannot: this test is where a dbt upgrade that moved it shows, loudly."""
    from dbt.version import __version__

    queue = _queue()
    needed = ["_get_scores", "get", "mark_done"]
    missing = [name for name in needed if not hasattr(GraphQueue, name)]
    missing += [name for name in ("in_progress", "some_task_done") if not hasattr(queue, name)]
    assert not missing, f"dbt {__version__} changed GraphQueue: update segmentation.dbt_schedule"
    assert __version__.startswith("1.11."), (
        f"segmentation.dbt_schedule was checked against dbt-core 1.11, this is {__version__}: "
        "check that GraphQueue still hands out nodes as critical_path_first expects"
    )

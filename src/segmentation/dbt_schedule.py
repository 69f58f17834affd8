"""Critical path first: which ready node dbt starts when a thread frees up.

dbt starts the ready node of the lowest depth in the DAG. On a two-core machine that made
the refresh start the short branches (RFM, dim_customers, fct_email_engagement: their only
child is customer_features, far downstream) before ``int_web_events_sessionized``, which
heads the longest chain (sessions, carts, activity, features, clusters, segments, history):
the sessionizing waited 5 s for a thread while the rest of the run waited for it.

Here a node's priority is its weighted *bottom level*: its own duration plus the longest
chain of durations below it. Durations come from the builds that ran the node before (kept
in ``node_times.json`` beside dbt's target files); before a first build, from
``node_seconds_prior.json`` (the models of a refresh at 1M customers: only their ratios
matter), else a fixed guess.
Ready nodes start longest chain first (ties by node id, so the order is deterministic);
what depends on what is untouched: only the order among ready nodes changes.

dbt's scores alone would not do it: dbt hands every ready node to its thread pool at once,
whose own queue is first come, first served, so the order among nodes that became ready
while every thread was busy was the order they became ready in. The queue here hands out
a node only when a thread is free to run it, and then the one of the longest chain.

Applied only to the dbt commands ``DbtSession`` runs (the scheduled refresh, the
benchmarks), and only while they run; dbt run by hand keeps its own order. dbt's queue is
not a public API: when this dbt has no ``GraphQueue._get_scores`` the patch is skipped
and dbt's order is used.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

TIMES_FILE = "node_times.json"
PRIOR_FILE = Path(__file__).with_name("node_seconds_prior.json")
# seconds assumed for a node without a recorded time
DEFAULT_SECONDS = {"model": 1.0, "test": 0.2}
OTHER_SECONDS = 0.1


def default_seconds(unique_id: str) -> float:
    return DEFAULT_SECONDS.get(unique_id.split(".", 1)[0], OTHER_SECONDS)


def bottom_levels(graph: Any, seconds: Mapping[str, float]) -> dict[str, float]:
    """Per node of a networkx DiGraph: its time plus the longest chain of times below it."""
    import networkx as nx

    levels: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        below = max((levels[child] for child in graph.successors(node)), default=0.0)
        own = seconds.get(node)
        levels[node] = (default_seconds(node) if own is None else own) + below
    return levels


def load_times(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_times(run_results: Path, path: Path) -> None:
    """Merge the execution times of a finished command into ``path``: the mean of the
    recorded and the new time (a node's time varies with what ran beside it; the mean keeps
    the order from flapping between runs)."""
    try:
        results = json.loads(run_results.read_text()).get("results", [])
    except (OSError, ValueError):
        return
    times = load_times(path)
    for result in results:
        if result.get("unique_id") and isinstance(result.get("execution_time"), int | float):
            seconds = float(result["execution_time"])
            previous = times.get(result["unique_id"], seconds)
            times[result["unique_id"]] = round((previous + seconds) / 2, 3)
    path.write_text(json.dumps(times, indent=0, sort_keys=True))


@contextlib.contextmanager
def critical_path_first(times_path: Path, threads: int) -> Iterator[None]:
    """While inside, dbt's queue hands a node out only when one of ``threads`` is free, the
    ready node with the longest weighted chain first."""
    try:
        from dbt.graph.queue import GraphQueue
    except ImportError:
        yield
        return
    original_scores = getattr(GraphQueue, "_get_scores", None)
    original_get = getattr(GraphQueue, "get", None)
    if original_scores is None or original_get is None:
        yield
        return
    seconds = {**load_times(PRIOR_FILE), **load_times(times_path)}

    def scores(self: Any, graph: Any) -> dict[str, float]:
        # the queue pops the lowest score first
        return {node: -level for node, level in bottom_levels(graph, seconds).items()}

    def get(self: Any, block: bool = True, timeout: float | None = None) -> Any:
        # in_progress: handed out and not yet done; mark_done notifies some_task_done
        with self.some_task_done:
            while len(self.in_progress) >= threads:
                self.some_task_done.wait()
        return original_get(self, block, timeout)

    GraphQueue._get_scores = scores
    GraphQueue.get = get
    try:
        yield
    finally:
        GraphQueue._get_scores = original_scores
        GraphQueue.get = original_get

"""Kill points for the refresh's crash tests (tests/python/test_refresh_faults.py).

``SEGMENTATION_KILL_AT`` names one point at which the refresh kills itself with SIGKILL, as
the OOM killer or a reboot would: no ``finally``, no ``atexit``, no flush. Unset (in
production) every hook is a no-op. A point is either

- a named step of the refresh, ``kill_point("publish:copied")`` in refresh.py, or
- ``executing:<node>`` / ``finished:<node>``: when dbt starts executing, or has finished
  (committed), the node whose name matches the glob ``<node>``; the other dbt thread is
  wherever it is then, as in a real crash.
"""

from __future__ import annotations

import fnmatch
import os
import signal
from collections.abc import Callable
from typing import Any

KILL_AT = "SEGMENTATION_KILL_AT"
# dbt event of each node point kind
_NODE_EVENTS = {"executing": "NodeExecuting", "finished": "NodeFinished"}


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_point(name: str) -> None:
    """Die here if ``SEGMENTATION_KILL_AT`` names this point."""
    if os.environ.get(KILL_AT) == name:
        _kill()


def dbt_callbacks() -> list[Callable[[Any], None]]:
    """dbt event callbacks for a node point; none when no node point is set."""
    kind, _, pattern = os.environ.get(KILL_AT, "").partition(":")
    event_name = _NODE_EVENTS.get(kind)
    if event_name is None or not pattern:
        return []

    def on_event(event: Any) -> None:
        if event.info.name == event_name:
            node = getattr(event.data, "node_info", None)
            if node is not None and fnmatch.fnmatchcase(node.node_name, pattern):
                _kill()

    return [on_event]

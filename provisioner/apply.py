"""Execute a Plan against a server: pulls in parallel (bounded), deletes last.

A failed action does not stop the others; every action gets a Result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from .client import Client, ProgressCallback
from .errors import ServerError
from .plan import Action, Plan

Outcome = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Result:
    action: Action
    outcome: Outcome
    seconds: float
    error: str | None = None


def _run(action: Action, client: Client, on_progress: ProgressCallback | None) -> Result:
    started = time.monotonic()
    name = action.model.display
    try:
        if action.kind == "pull":
            client.pull(name, insecure=action.insecure, on_progress=on_progress)
        elif action.kind == "delete":
            client.delete(name)
        else:
            raise NotImplementedError(action.kind)
    except ServerError as e:
        return Result(action, "failed", time.monotonic() - started, e.describe())
    return Result(action, "done", time.monotonic() - started)


def apply_plan(
    plan: Plan,
    client: Client,
    *,
    parallel: int = 2,
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run every action of the plan; return one Result per action, in plan order."""
    results: dict[int, Result] = {}

    def run(index: int, action: Action) -> None:
        result = _run(action, client, on_progress)
        results[index] = result
        if on_result is not None:
            on_result(result)

    pulls = [(i, a) for i, a in enumerate(plan.actions) if a.kind == "pull"]
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for future in [pool.submit(run, i, a) for i, a in pulls]:
            future.result()
    for i, action in enumerate(plan.actions):
        if action.kind != "pull":
            run(i, action)
    return [results[i] for i in range(len(plan.actions))]

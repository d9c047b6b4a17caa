"""A long build commits in steps, so the index answers while it builds.

`build_index` chunks every article first; a build with more than one group of passages to embed
then commits a first step at once: every passage is in the tables and both BM25 indexes (so
keyword search finds every article within seconds of the start), and the passages not embedded
yet are *pending*: zero vectors, left out of the vector store, listed in `pending.npy` and
counted in the manifest's "pending". The passages are then embedded in groups of whole articles,
in article order (`article_groups`), and after a group, when `StepSchedule` says a step is due,
what is embedded so far is committed again and joins the dense index. The last commit is the
complete index, the same files a build committed only at its end writes.

A step commit writes only what depends on the vectors (qa.storage.writer links the tables and
BM25 of the first step into each new folder), and it waits at least `COST_FACTOR` times what the
last one cost, so commits take at most about a tenth of a build however large the index grows.
A crash keeps the last step: the next build reuses its embedded rows and the shards saved since
(`index/.partial/`), and embeds only the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from qa.storage.progress import BuildProgress, Progress
from qa.storage.writer import BuildContent

COST_FACTOR = 10.0  # a step waits >= this many times what the last one cost


def article_groups(doc_ids: Sequence[str], rows: list[int], size: int) -> list[list[int]]:
    """`rows` (passage rows to embed, in article order) cut into groups of whole articles.

    A group takes the next article while it stays within `size` rows; an article of more rows
    than that is a group of its own.

    Args:
        doc_ids: the article of every passage row.
        rows: the rows to group, ascending.
        size: most rows in a group (unless one article has more).

    Returns:
        The groups, in order; together they are `rows`.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and doc_ids[rows[end]] == doc_ids[rows[start]]:
            end += 1
        article = rows[start:end]
        if current and len(current) + len(article) > size:
            groups.append(current)
            current = []
        current += article
        start = end
    if current:
        groups.append(current)
    return groups


def embedding_groups(content: BuildContent, todo: list[int], size: int) -> list[list[int]]:
    """The `todo` text rows of a build in groups of whole articles (`article_groups`); a sentence
    embedded on its own goes with the first passage to embed that holds it (else with the first
    group)."""
    n = content.n
    passages = [i for i in todo if i < n]
    groups = article_groups([p.doc_id for p in content.passages], passages, size)
    sentences = {i for i in todo if i >= n}
    if not sentences:
        return groups
    plan = content.plan
    assert plan is not None
    for group in groups:
        for i in list(group):
            for j in plan.entries[plan.offsets[i]:plan.offsets[i + 1], 2]:
                if n + int(j) in sentences:
                    sentences.discard(n + int(j))
                    group.append(n + int(j))
    if not groups:
        groups.append([])
    groups[0] += sorted(sentences)
    return [sorted(g) for g in groups]


def group_progress(content: BuildContent, groups: list[list[int]], bar: BuildProgress) -> Callable[[int], Progress]:
    """Per group, the `progress(done, total)` of its embedding mapped onto the whole bar: each
    group moves the bar by its distinct passages (and a third of its distinct sentences)."""
    seen: set[str] = set()
    starts, weights = [], []
    for rows in groups:
        weight = 0.0
        for i in rows:
            if content.keys[i] not in seen:  # a text embedded once per build
                seen.add(content.keys[i])
                weight += 1.0 if i < content.n else 1 / 3
        starts.append(sum(weights))
        weights.append(weight)

    def of(g: int) -> Progress:
        return lambda done, total: bar.embedded(int(starts[g] + weights[g] * done / max(1, total)))
    return of


@dataclass
class StepSchedule:
    """When the next step is due: `seconds` after the last one, or `COST_FACTOR` times what the
    last one cost when that is longer.

    Args:
        seconds: the interval between steps (`Settings.step_seconds`).
        clock: seconds, monotonic (tests pass a fake clock).
    """

    seconds: float
    clock: Callable[[], float] = time.monotonic
    next_at: float = field(default=float("-inf"), init=False)

    def due(self) -> bool:
        return self.clock() >= self.next_at

    def committed(self, cost: float) -> None:
        """A step was just committed; it took `cost` seconds."""
        self.next_at = self.clock() + max(self.seconds, COST_FACTOR * cost)


def embed_in_steps(groups: list[list[int]], embed: Callable[[int, list[int]], None],
                   commit: Callable[[np.ndarray], None], schedule: StepSchedule | None) -> None:
    """Embed `groups` in order, committing steps along the way.

    With a schedule, a first step is committed before anything is embedded (every group
    pending), and another after each group when one is due and groups remain. The caller makes
    the final commit.

    Args:
        groups: text rows to embed, one list per group of whole articles.
        embed: embeds group g's rows (`embed(g, rows)`).
        commit: commits a step in which the given rows (sorted) are still pending.
        schedule: when steps are due; None: no step (one commit at the end).
    """
    def step(k: int) -> None:
        t = time.perf_counter()
        commit(np.array(sorted(r for rows in groups[k:] for r in rows), dtype=np.int64))
        schedule.committed(time.perf_counter() - t)

    if schedule is not None:
        step(0)
    for g, rows in enumerate(groups):
        embed(g, rows)
        if schedule is not None and g + 1 < len(groups) and schedule.due():
            step(g + 1)

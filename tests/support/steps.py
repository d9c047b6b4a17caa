"""Builds that commit in steps, for tests: twelve one-passage articles, settings that commit a
step after every group of two, a clock that makes every step due, and a build cut short in the
group of one's choosing (the embedding seam raises there)."""

from __future__ import annotations

import itertools

import pytest

import qa.storage.builder as builder
from qa.index import Index
from qa.settings import Settings
from qa.storage.builder import build_index
from qa.types import Article
from tests.support.fake_embedder import HashEmbedder

TOPICS = ["volcano", "harbour", "election", "glacier", "orchestra", "satellite", "vineyard", "railway",
          "museum", "hurricane", "marathon", "pharmacy"]
# one passage per article; two articles per group: a step after every group
STEPS = Settings(step_passages=2, step_seconds=1.0)
ONCE = Settings(step_seconds=0, step_passages=10**6)  # one group, one commit: the build before steps


def articles(topics=TOPICS, prefix: str = "a") -> list[Article]:
    """One article per topic (doc_id a00, a01, ...), each of one passage."""
    return [Article(f"{prefix}{i:02d}", f"The {t} story",
                    f"Reporters covered the {t} on Monday. The {t} drew crowds from the whole region. "
                    f"Officials said the {t} would be reviewed again next year.")
            for i, t in enumerate(topics)]


def step_clock():
    """A clock that moves 100 s at every reading: a step is due after every group."""
    return itertools.count(0, 100).__next__


class Crash(Exception):
    """What the patched embedding seam raises (a build killed mid-way)."""


def crash_on(monkeypatch, call: int) -> list[list[int]]:
    """Make the embedding seam raise on its `call`-th group (the groups before are embedded);
    returns the rows of every group it was given."""
    real, seen = builder.embed_articles, []

    def seam(job, rows, partial, progress):
        seen.append(list(rows))
        if len(seen) == call:
            raise Crash(f"killed while embedding group {call}")
        return real(job, rows, partial, progress)

    monkeypatch.setattr(builder, "embed_articles", seam)
    return seen


def cut_short(folder, monkeypatch, call: int, embedder=HashEmbedder) -> Index:
    """A build of the twelve articles that dies in its `call`-th group; the index it left."""
    crash_on(monkeypatch, call)
    with pytest.raises(Crash):
        build_index(articles(), folder, embedder(), STEPS, clock=step_clock())
    monkeypatch.undo()
    return Index.load(folder, embedder=embedder())

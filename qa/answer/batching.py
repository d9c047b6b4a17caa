"""AskBatcher: questions asked at the same time (by the web UI, the JSON API and the MCP tools)
are gathered for a few milliseconds and answered as one batch (`ask_batch`: one search over all
of them), from one worker thread; a bounded queue says "busy" at once instead of piling up.

Only questions with the same k, configuration, filters and options share a batch (they share one
`search_batch` call); the others wait for the next. A question is checked (blank, huge, bad k)
before it queues, so one bad question never fails its batch-mates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Callable

from qa.errors import QAError

WINDOW_MS = 2.0  # how long the first question of a batch waits for others
MAX_BATCH = 32  # questions in one search_batch
MAX_WAITING = 64  # questions queued beyond this are refused (Busy, 429)
TIMEOUT_S = 30.0  # a question not answered by then is given up (Busy, 503)


class Busy(QAError):
    """The server cannot take or finish the question now; ask again after `retry_after` seconds.

    Attributes:
        status: 429 when the queue is full, 503 when a queued question timed out.
        retry_after: seconds to wait before asking again.
    """

    def __init__(self, message: str, status: int = 429, retry_after: int = 1):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass
class _Job:
    question: str
    key: tuple
    options: dict
    future: Future = field(default_factory=Future)


class AskBatcher:
    """Answer questions in batches through `ask_batch` on the index `index_fn()` returns.

    Args:
        index_fn: returns the loaded index (called once per batch, so a reload is picked up).
        window_ms: how long the first waiting question waits for batch-mates.
        max_batch: most questions in one batch.
        max_waiting: most questions queued; one more raises `Busy` (429) at once.
        timeout_s: `ask` gives up on a question not answered by then (`Busy`, 503).
    """

    def __init__(self, index_fn: Callable, window_ms: float = WINDOW_MS, max_batch: int = MAX_BATCH,
                 max_waiting: int = MAX_WAITING, timeout_s: float = TIMEOUT_S):
        self.index_fn = index_fn
        self.window_s, self.max_batch = window_ms / 1000, max_batch
        self.max_waiting, self.timeout_s = max_waiting, timeout_s
        self._waiting: deque[_Job] = deque()
        self._cv = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batches = 0  # batches answered (for tests and monitoring)

    @property
    def waiting(self) -> int:
        """Questions queued and not yet taken into a batch."""
        return len(self._waiting)

    def submit(self, question: str, k: int | None = None, config: str | None = None,
               source: str | None = None, since: str | None = None, until: str | None = None,
               **options) -> Future:
        """Queue a question; the returned Future holds its `Answer` (or the error).

        Raises:
            BadInput: a blank or huge question, or a bad k (checked here, before it queues).
            Busy: max_waiting questions are already queued (status 429).
        """
        from qa.search.pipeline import check_k, clean_question

        question = clean_question(question)
        if k is not None:
            k = check_k(k)
        opts = {"k": k, "config": config or None, "source": source or None, "since": since or None,
                "until": until or None, **options}
        job = _Job(question, tuple(sorted((n, repr(v)) for n, v in opts.items())), opts)
        with self._cv:
            if len(self._waiting) >= self.max_waiting:
                raise Busy(f"the server is busy: {len(self._waiting)} questions are waiting; ask again "
                           "in a second", status=429, retry_after=1)
            self._waiting.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="qa-ask-batcher", daemon=True)
                self._worker.start()
            self._cv.notify()
        return job.future

    def ask(self, question: str, **kw):
        """`submit` and wait for the answer.

        Raises:
            Busy: the queue is full (429) or the answer took longer than timeout_s (503).
        """
        future = self.submit(question, **kw)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            future.cancel()
            raise Busy(f"no answer within {self.timeout_s:.0f} s: the server is overloaded or still "
                       "loading; ask again shortly", status=503, retry_after=5) from None

    # ---- the worker -------------------------------------------------------------------------

    def _take(self) -> list[_Job]:
        """The next batch: the oldest question and up to max_batch - 1 others with its key, after
        waiting window_s for more to arrive (not longer than it takes to fill a batch)."""
        with self._cv:
            while not self._waiting:
                self._cv.wait()
        deadline = time.monotonic() + self.window_s
        with self._cv:
            while len(self._waiting) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self._cv.wait(left)
            key = self._waiting[0].key
            batch = [j for j in self._waiting if j.key == key][:self.max_batch]
            taken = set(map(id, batch))
            self._waiting = deque(j for j in self._waiting if id(j) not in taken)
        return [j for j in batch if j.future.set_running_or_notify_cancel()]  # skip given-up ones

    def _run(self) -> None:
        from qa.answer.ask import ask_batch

        while True:
            batch = self._take()
            if not batch:
                continue
            try:
                answers = ask_batch(self.index_fn(), [j.question for j in batch], **batch[0].options)
            except Exception as e:  # every question of the batch gets the error (they share its cause)
                if not isinstance(e, QAError):
                    logging.getLogger("qa").exception("answering a batch of %d questions failed", len(batch))
                for j in batch:
                    j.future.set_exception(e)
                continue
            self.batches += 1
            for j, a in zip(batch, answers):
                j.future.set_result(a)

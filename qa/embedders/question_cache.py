"""QuestionEncoder: an embedder plus the vectors of recent questions and highlighted sentences,
so a repeated question (abstention, highlighting, a user asking again) is embedded once.
It belongs to the model, not to a build: it survives a reload of the index.
"""

from __future__ import annotations

import threading

import numpy as np

QUESTIONS_KEPT = 512


class QuestionEncoder:
    """Question vectors through `embedder`, remembered for the last `QUESTIONS_KEPT` questions."""

    def __init__(self, embedder):
        self.embedder = embedder
        self._questions: dict[str, np.ndarray] = {}
        self.sentences: dict[str, np.ndarray] = {}  # highlight: sentence text -> vector
        self._lock = threading.Lock()

    def encode(self, questions: list[str]) -> np.ndarray:
        """(len(questions), dim) unit vectors, embedding only questions not seen recently."""
        with self._lock:
            missing = [q for q in dict.fromkeys(questions) if q not in self._questions]
            if missing:
                for q, v in zip(missing, self.embedder.embed_batch(missing)):
                    self._questions[q] = v
                while len(self._questions) > QUESTIONS_KEPT:
                    self._questions.pop(next(iter(self._questions)))
            return np.stack([self._questions[q] for q in questions]) if questions else \
                np.zeros((0, self.embedder.dim), dtype=np.float32)

    def forget(self) -> None:
        """Drop remembered question vectors (timed evaluation measures cold questions)."""
        with self._lock:
            self._questions.clear()

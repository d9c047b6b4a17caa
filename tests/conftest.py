"""Shared fixtures: a tiny inline corpus, the fake embedder (registered as backend "hash"), the
network blocked."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from tests.support.fake_embedder import HashEmbedder, register  # noqa: E402

register()  # the "hash" backend, for get_embedder, Index.load of test indexes and the CLI

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"

ARTICLES = {
    "energy.txt": (
        "All news\n\nRussia proposes energy talks\n\nMOSCOW, June 11, 2021. /TASS/. Russia proposes "
        "consultations on the decarbonization of the economy among member states. The envoy said this "
        "at an online briefing on Friday.\n\nThe energy ministers met for the first time this year. "
        "A cooperation mechanism will be created.\n\nAbout the author\n\nSomebody\n"),
    "football.txt": (
        "Local team wins the cup\n\nWritten by The Daily Ball\n\nLONDON (Reuters) - The local football "
        "team won the cup final on Saturday with a late goal. Fans celebrated in the streets until "
        "midnight.\n\nThe coach praised the defence. The captain lifted the trophy.\n"),
    "space.md": (
        "# Probe reaches Mars orbit\n\nThe space agency said its probe entered orbit around Mars after "
        "a journey of seven months. Engineers confirmed the engine burn lasted 27 minutes.\n"),
}


@pytest.fixture(autouse=True)
def _default_configuration(monkeypatch):
    """A developer's QA_CONFIG does not change which configuration the tests' searches run."""
    monkeypatch.delenv("QA_CONFIG", raising=False)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never reach past loopback: a model or data download fails loudly here."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")
                                          or self.family == socket.AF_UNIX):
            raise RuntimeError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "articles"
    d.mkdir()
    for name, text in ARTICLES.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture
def cli_index(corpus_dir, tmp_path, capsys):
    """An index of `corpus_dir` built by `qa index` with the hash backend (its output consumed)."""
    from qa.cli.main import main

    ix = tmp_path / "ix"
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash"]) == 0
    capsys.readouterr()
    return ix


@pytest.fixture
def fake_embedder():
    return HashEmbedder()


@pytest.fixture
def built_index(corpus_dir: Path, tmp_path: Path, fake_embedder):
    from qa import Index

    return Index.build([corpus_dir], tmp_path / "index", embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    from qa.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()

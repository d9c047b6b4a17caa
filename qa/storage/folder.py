"""IndexFolder: the one owner of an index folder — its file names, manifest, checks, write
lock and atomic commit. Nothing else in qa spells a file name of the folder.

Layout of `index/`:
    manifest.json    format version, model id + weights hash, dimension, chunking, counts, checksums
    dense.faiss      FAISS index; id i == line i of passages.jsonl
    vectors.npy      float32 (n, dim) unit vectors, the embedding cache for incremental updates
    passages.jsonl   one Passage per line (+ its embedding key); passages.offsets.npy: line offsets
    articles.jsonl   one Article per line; articles.offsets.npy: line offsets
    passage_article.npy, articles.keys.json   article row per passage; doc_id/source/date per article
    bm25/, bm25_docs/   bm25s files (npy + json) over passages and over whole articles
    sentences/       the highlighter's sentence vectors (qa.storage.sentence_vectors)
    milvus-*.db      a Milvus Lite database, when the index lives in Milvus without a server
    pending.npy      a build still embedding (a step commit, qa.storage.steps): the passage rows
                     not yet embedded (zero vectors, not in the vector store); the manifest's
                     "pending" says how many articles and passages. Absent from a complete index.
    .partial/        embedding shards of an interrupted build (kept until a build completes)
    .abstain.json    the abstention background measured for this build (a cache)

A write builds everything in a temporary sibling folder (itself an `IndexFolder`), fsyncs it,
then swaps it into place (one atomic `renameat2(RENAME_EXCHANGE)` on Linux), so a crash leaves
the previous index intact. No pickle is written or read.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from qa.errors import BadInput, IndexCorrupt, IndexLocked, IndexNotFound, ModelMismatch
from qa.hashing import sha256_file
from qa.settings import FORMAT_VERSION

FULL_CHECK_BYTES = 256 * 2**20  # files larger than this are checked by size only at load
SENTENCE_PARTS = ("vectors", "keys", "offsets", "entries")
TOKEN_STATE_BACKENDS = ("onnx-int8", "onnx")  # backends whose builds pool passages from windows (format 4)


class IndexFolder:
    """Paths and whole-folder operations of one index folder (which need not exist yet)."""

    MANIFEST = "manifest.json"
    FAISS = "dense.faiss"
    VECTORS = "vectors.npy"
    PASSAGES = "passages.jsonl"
    ARTICLES = "articles.jsonl"
    PASSAGE_ARTICLE = "passage_article.npy"
    ARTICLE_KEYS = "articles.keys.json"
    BM25 = "bm25"
    BM25_DOCS = "bm25_docs"
    SENTENCES = "sentences"
    PENDING = "pending.npy"
    PARTIAL = ".partial"
    ABSTAIN = ".abstain.json"
    KEEP = ".gitkeep"
    MILVUS_LITE = re.compile(r"milvus-\w+\.db")

    CURRENT = "current"  # in a mount point: a link to the live version folder inside it
    VERSION = re.compile(r"v-\d+-\d+")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def root(self) -> Path:
        """Where the files are: the folder itself, or, for an index in a mount point (a Docker
        volume, which cannot be renamed over), the version folder its `current` link names."""
        link = self.path / self.CURRENT
        return self.path / os.readlink(link) if link.is_symlink() else self.path

    def versioned(self) -> bool:
        """True when builds are swapped in by a link inside the folder rather than by renaming
        the folder itself (a mount point, or a folder already laid out that way)."""
        return (self.path / self.CURRENT).is_symlink() or os.path.ismount(self.path)

    def __repr__(self) -> str:
        return f"IndexFolder({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    # ---- file names -----------------------------------------------------------------------

    @property
    def manifest_file(self) -> Path:
        return self.root / self.MANIFEST

    @property
    def faiss_file(self) -> Path:
        return self.root / self.FAISS

    @property
    def vectors_file(self) -> Path:
        return self.root / self.VECTORS

    @property
    def passages_file(self) -> Path:
        return self.root / self.PASSAGES

    @property
    def articles_file(self) -> Path:
        return self.root / self.ARTICLES

    @staticmethod
    def offsets_file(records: Path) -> Path:
        """The line-offsets file beside a JSONL records file."""
        return records.with_name(records.name.replace(".jsonl", ".offsets.npy"))

    @property
    def passage_article_file(self) -> Path:
        return self.root / self.PASSAGE_ARTICLE

    @property
    def article_keys_file(self) -> Path:
        return self.root / self.ARTICLE_KEYS

    @property
    def bm25_dir(self) -> Path:
        return self.root / self.BM25

    @property
    def bm25_docs_dir(self) -> Path:
        return self.root / self.BM25_DOCS

    @property
    def sentences_dir(self) -> Path:
        return self.root / self.SENTENCES

    def sentence_file(self, part: str) -> Path:
        """One of the sentence-vector files (`SENTENCE_PARTS`)."""
        if part not in SENTENCE_PARTS:
            raise ValueError(f"unknown sentence file {part!r}; one of {', '.join(SENTENCE_PARTS)}")
        return self.sentences_dir / f"{part}.npy"

    @property
    def pending_file(self) -> Path:
        return self.root / self.PENDING

    @property
    def partial_dir(self) -> Path:
        return self.root / self.PARTIAL

    @property
    def abstain_file(self) -> Path:
        return self.root / self.ABSTAIN

    @staticmethod
    def milvus_lite_name(token: str) -> str:
        """File name (relative to the folder) of a Milvus Lite database for one build."""
        return f"milvus-{token}.db"

    # ---- state ----------------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the folder holds an index (it has a manifest)."""
        return self.manifest_file.exists()

    def signature(self) -> tuple[int, int, int] | None:
        """Identity of the build on disk (the manifest is replaced by every commit)."""
        try:
            st = os.stat(self.manifest_file)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def data_files(self) -> list[Path]:
        """Every data file of a built index folder (what the manifest checksums)."""
        skip = {self.MANIFEST, self.KEEP}
        # a Milvus Lite file is a database that rewrites its own files whenever it is opened,
        # with its own write-ahead log: checksums would fail on every load
        return sorted(p for p in self.path.rglob("*") if p.is_file() and p.name not in skip
                      and self.PARTIAL not in p.relative_to(self.path).parts
                      and not self.MILVUS_LITE.fullmatch(p.relative_to(self.path).parts[0]))

    def read_manifest(self) -> dict[str, Any]:
        """The manifest of this index folder.

        Raises:
            IndexNotFound: no folder or no manifest there.
            IndexCorrupt: the manifest is not valid JSON, or not an object whose sections
                (model, chunking, files, ...) are objects.
        """
        f = self.manifest_file
        if not f.exists():
            raise IndexNotFound(f"no index at {str(self.path)!r} (no {self.MANIFEST}); build one with "
                                f"`qa index PATH --index {self.path}`")
        try:
            manifest = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"{f} is not valid JSON; {self.rebuild_hint()}") from None
        problem = _manifest_shape_problem(manifest)
        if problem:  # a hand-edited manifest: refused here, not as a traceback deep in a load
            raise IndexCorrupt(f"{f} {problem} (edited or damaged); {self.rebuild_hint()}")
        return manifest

    def rebuild_hint(self) -> str:
        return f"rebuild with `qa index --rebuild --index {self.path}`"

    def reindex_command(self, manifest: dict[str, Any]) -> str:
        """The `qa index` command that rebuilds this folder with the model, backend, chunking
        and store its manifest records (only what differs from the defaults is spelled out)."""
        from qa.settings import Settings

        d, model, chunk = Settings(), manifest.get("model", {}), manifest.get("chunking", {})
        opts = [(model.get("id"), d.model, "--model"), (model.get("backend"), d.backend, "--backend"),
                (chunk.get("target_tokens"), d.target_tokens, "--target-tokens"),
                (chunk.get("overlap_sentences"), d.overlap_sentences, "--overlap"),
                (chunk.get("window_tokens"), d.window_tokens, "--window-tokens"),
                ((manifest.get("store") or {}).get("kind"), "faiss", "--store")]
        cmd = [f"qa index PATH --index {self.path}"]
        cmd += [f"{flag} {value}" for value, default, flag in opts if value is not None and value != default]
        if chunk.get("sentence_vectors") is False:
            cmd.append("--no-sentence-vectors")
        return " ".join(cmd)

    def check(self, manifest: dict[str, Any], model_id: str | None = None,
              fingerprint: str | None = None, verify: bool = True) -> None:
        """Refuse an index of another format or model, or with missing/changed files.

        Raises:
            ModelMismatch: format version or model differs from what is asked for.
            IndexCorrupt: a file is missing, has the wrong size or (when verified) the wrong checksum.
        """
        rebuild = self.rebuild_hint()
        fmt = manifest.get("format_version")
        if fmt != FORMAT_VERSION:
            windowed = manifest.get("model", {}).get("backend") in TOKEN_STATE_BACKENDS
            cost = ("its passages are embedded once more: since format 4 they are pooled from article "
                    "windows" if windowed and isinstance(fmt, int) and fmt < 4 else
                    "its embeddings are reused, not redone")
            raise ModelMismatch(f"index at {self.path} has format version {fmt!r}, this qa reads "
                                f"{FORMAT_VERSION}; re-index with `{self.reindex_command(manifest)}` "
                                f"(PATH: the articles it was built from; {cost})")
        from qa.settings import Settings

        unknown = sorted(set(manifest.get("chunking", {})) - set(Settings().chunking()))
        if unknown:
            raise IndexCorrupt(f"{self.manifest_file} has unknown chunking keys {', '.join(unknown)} "
                               f"(edited or damaged); {rebuild}")
        model = manifest.get("model", {})
        if model_id is not None and model.get("id") != model_id:
            raise ModelMismatch(f"index at {self.path} was built with model {model.get('id')!r}, "
                                f"not {model_id!r}; search with that model or {rebuild}")
        if fingerprint is not None and model.get("fingerprint") not in (None, fingerprint):
            raise ModelMismatch(f"index at {self.path} was built with other weights of {model.get('id')!r} "
                                f"({model.get('fingerprint')} vs installed {fingerprint}); {rebuild}")
        for name, info in manifest.get("files", {}).items():
            p = self.root / name
            if not p.exists():
                raise IndexCorrupt(f"index file {p} is missing; {rebuild}")
            size = p.stat().st_size
            if size != info.get("bytes"):
                raise IndexCorrupt(f"index file {p} has {size} bytes, the manifest says "
                                   f"{info.get('bytes')} (truncated or edited); {rebuild}")
            if verify and size <= FULL_CHECK_BYTES and sha256_file(p) != info.get("sha256"):
                raise IndexCorrupt(f"index file {p} does not match its checksum (edited or damaged); "
                                   f"{rebuild}")

    # ---- writing --------------------------------------------------------------------------

    def check_writable(self, sources: list[str | Path] = ()) -> None:
        """Refuse to write anywhere but an empty folder or a qa index, and never into (or over)
        the files being indexed: a typo in `--index` must not replace someone's folder. (An
        index folder inside an articles folder is fine: ingest skips it.)

        Raises:
            BadInput: the path is a file, a folder of other files, or overlaps `sources`.
        """
        target = self.path.resolve()
        for src in sources:
            src = Path(src).resolve()
            if target == src or target in src.parents:
                raise BadInput(f"the index folder {str(self.path)!r} overlaps the articles being indexed "
                               f"({str(src)!r}); choose an index folder outside them, e.g. --index index")
        if not self.path.exists() or self.exists():
            return
        if not self.path.is_dir():
            raise BadInput(f"--index {str(self.path)!r} is a file, not a folder; choose a new or empty "
                           f"folder, or an existing qa index")
        ours = {self.KEEP, self.PARTIAL, self.ABSTAIN, self.CURRENT, ".lock"}
        foreign = sorted(p.name for p in self.path.iterdir()
                         if p.name not in ours and not self.VERSION.fullmatch(p.name))
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise BadInput(f"--index {str(self.path)!r} holds files that are not a qa index ({shown}); "
                           f"nothing was written. Choose a new or empty folder, e.g. --index index")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock for writing this folder; a second writer fails at once, clearly."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / ".lock" if self.versioned() else self.path.with_name(f".{self.path.name}.lock")
        fh = open(lock_path, "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                who = fh.read().strip() or "another process"
                raise IndexLocked(f"index {str(self.path)!r} is being written by {who}; wait for it to "
                                  f"finish (lock file {lock_path})") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fh.close()

    def new_build(self) -> "IndexFolder":
        """A fresh temporary sibling folder to build into; leftovers of killed builds are removed
        first (the caller holds the write lock, so no other build is using them)."""
        target = self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        stamp = f"{os.getpid()}-{int(time.time() * 1000)}"
        if self.versioned():  # version folders inside; the live one is kept
            live = self.root.name
            for stale in target.iterdir():
                if self.VERSION.fullmatch(stale.name) and stale.name != live:
                    shutil.rmtree(stale, ignore_errors=True)
            tmp = target / f"v-{stamp}"
        else:
            for stale in target.parent.glob(f".{target.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = target.with_name(f".{target.name}.tmp-{stamp}")
        tmp.mkdir()
        return IndexFolder(tmp)

    def link_files(self, build: "IndexFolder", names: list[str]) -> None:
        """Put this index's files `names` (relative paths) into `build` as hard links (a copy
        where the file system refuses a link): files a build shares with the one before it,
        such as BM25 and the tables of a build committed in steps, are written once."""
        for name in names:
            src, dst = self.root / name, build.root / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copy2(src, dst)

    def commit(self, build: "IndexFolder", manifest: dict[str, Any],
               known: dict[str, dict] | None = None) -> dict[str, dict]:
        """Checksum `build`'s files into its manifest, fsync, and swap it into place here.

        Args:
            build: the temporary folder holding the new build.
            manifest: its manifest, without the "files" checksums (added here).
            known: checksum entries of files already checksummed (linked from the build before,
                `link_files`): taken as they are when the size agrees, not read again.

        Returns:
            The checksum entry ({"sha256", "bytes"}) of each file, by relative path.
        """
        tmp, target, known = build.path, self.path, known or {}
        files = {}
        for p in build.data_files():
            name, size = str(p.relative_to(tmp)), p.stat().st_size
            entry = known.get(name)
            files[name] = entry if entry and entry.get("bytes") == size else {"sha256": sha256_file(p), "bytes": size}
        build.manifest_file.write_text(json.dumps({**manifest, "files": files}, indent=2,
                                                  ensure_ascii=False) + "\n")
        (tmp / self.KEEP).touch()
        _fsync_tree(tmp)
        if self.versioned():
            self._switch_version(build)
            return files
        if target.exists():
            if _exchange(tmp, target):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous index
            else:
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.rename(target, old)
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
        return files

    def _switch_version(self, build: "IndexFolder") -> None:
        """Point `current` at `build` (a version folder inside this one) in one atomic rename,
        then remove the version it replaced; a crash leaves one link or the other."""
        old = self.root if (self.path / self.CURRENT).is_symlink() else None
        link_tmp = self.path / f".current-{os.getpid()}"
        link_tmp.unlink(missing_ok=True)
        os.symlink(build.path.name, link_tmp)
        os.replace(link_tmp, self.path / self.CURRENT)
        _fsync_dir(self.path)
        if old is not None and old != build.path:
            shutil.rmtree(old, ignore_errors=True)  # open maps of it stay valid until released
        shutil.rmtree(self.path / self.PARTIAL, ignore_errors=True)  # shards of a first build

    def discard(self) -> None:
        """Remove this (temporary) folder and everything in it."""
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)


_MANIFEST_SECTIONS = ("model", "chunking", "counts", "bm25", "store", "pending", "files")


def _manifest_shape_problem(manifest: Any) -> str | None:
    """What makes `manifest` unreadable as a manifest (a list, a section that is not an object,
    a file entry without its size), or None when its shape is right."""
    if not isinstance(manifest, dict):
        return f"holds a JSON {type(manifest).__name__}, not an object"
    for key in _MANIFEST_SECTIONS:
        if key in manifest and not isinstance(manifest[key], dict):
            return f"has {key!r} = {json.dumps(manifest[key])[:60]}, not an object"
    for name, info in manifest.get("files", {}).items():
        if not isinstance(info, dict):
            return f"has the file entry {name!r} = {json.dumps(info)[:60]}, not an object"
    if "sources" in manifest and not isinstance(manifest["sources"], list):
        return f"has 'sources' = {json.dumps(manifest['sources'])[:60]}, not a list"
    return None


def _fsync_tree(folder: Path) -> None:
    for p in [*folder.rglob("*"), folder]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(folder: Path) -> None:
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))

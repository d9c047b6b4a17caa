"""The small exception hierarchy: every message names the bad value and the fix."""


class QAError(Exception):
    """Base class of every error `qa` raises on purpose (the CLI prints it in one line)."""


class BadInput(QAError, ValueError):
    """A question, parameter or file the caller gave cannot be used."""


class IndexNotFound(QAError, FileNotFoundError):
    """No index at the given folder."""


class IndexCorrupt(QAError):
    """An index file is missing, truncated or edited (checksum mismatch)."""


class ModelCorrupt(QAError):
    """A model file that ships with qa is missing or does not match its recorded sha256."""


class ModelMismatch(QAError):
    """The index was built with another model or format than the one asked for."""


class IndexLocked(QAError):
    """Another process is writing the same index."""


class IndexWriteError(QAError):
    """The index could not be written (a full disk); the previous one is left as it was."""

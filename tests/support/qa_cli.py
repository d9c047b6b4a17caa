"""`python -m tests.support.qa_cli ARGS`: the qa command line with the fake "hash" backend.

For tests that run the CLI in a subprocess (a build killed mid-way, a second process on a
Milvus Lite file, Ray) on indexes of the fake embedder: `python -m qa` itself knows only the
real backends. Run it from the repository root, like `python -m qa`.
"""

import sys

from qa.cli.main import main
from tests.support.fake_embedder import register

if __name__ == "__main__":
    register()
    sys.exit(main())

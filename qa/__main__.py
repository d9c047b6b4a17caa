"""`python -m qa`: runs the command line (qa.cli.main)."""

import sys

from qa.cli.main import main

sys.exit(main())

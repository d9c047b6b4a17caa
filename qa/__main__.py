import sys

from qa.cli.main import main

sys.exit(main())

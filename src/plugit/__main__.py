"""`python -m plugit` runs the command line."""

import sys

from plugit.cli import main

sys.exit(main())

"""`python -m plugit_proxy --service URL`: the standalone proxy without the `plugit` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())

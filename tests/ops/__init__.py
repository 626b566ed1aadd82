"""Operations: health probes, metrics, request ids, log lines (docs/operating-a-platform.md)."""

import sys
from pathlib import Path

# The platform launcher of the web tests (tests/platform/web) starts these tests' platforms.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform" / "web"))

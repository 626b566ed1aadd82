"""The legacy layout's static files: jQuery and Bootstrap 3, from Python packages (no CDN).

jQuery and Bootstrap 3's scripts and glyphicon fonts are served as their packages ship them.
Bootstrap 3's CSS ships as Sass sources: it is compiled once per package version into the
data directory (a fraction of a second), where the static files finders pick it up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xstatic.pkg.bootstrap_scss as bootstrap3  # type: ignore[import-untyped]
import xstatic.pkg.jquery as jquery  # type: ignore[import-untyped]

__all__ = ["BOOTSTRAP3_VERSION", "build_bootstrap3_css", "legacy_static_dirs"]

BOOTSTRAP3_VERSION: str = bootstrap3.VERSION
CSS_NAME = "bootstrap.min.css"


def legacy_static_dirs(built: Path) -> list[tuple[str, str]]:
    """Give the STATICFILES_DIRS entries of the legacy layout (`built`: the compiled CSS)."""
    return [
        ("jquery", jquery.BASE_DIR),  # jquery/jquery.min.js
        ("bootstrap3", bootstrap3.BASE_DIR),  # bootstrap3/js/..., bootstrap3/fonts/bootstrap/...
        ("bootstrap3/css", str(built)),  # bootstrap3/css/bootstrap.min.css
    ]


def build_bootstrap3_css(target: Path) -> Path:
    """Compile Bootstrap 3's Sass into `target`/bootstrap.min.css unless it is there already."""
    css_file = target / CSS_NAME
    if css_file.exists():
        return css_file
    import sass  # type: ignore[import-untyped]  # only when compiling: once per data directory and version

    source = Path(bootstrap3.BASE_DIR) / "scss" / "_bootstrap.scss"
    css = sass.compile(filename=str(source), output_style="compressed").lstrip("\ufeff")
    target.mkdir(parents=True, exist_ok=True)
    # Several processes may start at once: each writes its own file, the last rename wins.
    fd, temporary = tempfile.mkstemp(dir=target, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(css)
    os.replace(temporary, css_file)
    return css_file

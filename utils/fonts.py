"""Hangul in figures: find a font that has it and let Matplotlib fall back to it.

Matplotlib's default font (DejaVu Sans) has no Hangul: a Korean title or axis label would draw
as empty boxes, with a "Glyph ... missing from font" warning. :func:`use_hangul_font` keeps
DejaVu Sans first (so English text looks as always) and adds the first Hangul font it finds as a
per-character fallback. It looks, in order, for an installed system font (Debian's
``fonts-nanum``, which ``make setup`` and CI install; Noto CJK; Windows' Malgun Gothic; macOS's
AppleGothic) and for the NanumGothic file that the ``[ko]`` extra installs with pip (what the
Korean notebooks' Colab line does). :func:`runtime.setup` calls it, so every notebook has it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HANGUL_FAMILIES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "AppleGothic",
    "UnDotum",
)
# Folders whose .ttf files are registered if Matplotlib's font cache predates them.
FONT_DIRS = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/opentype/noto"))
PIP_FONT_PACKAGE = "koreanize_matplotlib"  # the [ko] extra: ships NanumGothic.ttf
INSTALL_HINT = (
    "no Hangul font found, so Korean labels would draw as boxes: install one with "
    "`sudo apt-get install fonts-nanum` (Debian/Ubuntu), or "
    "`pip install 'keras-training-tips[ko] @ git+https://github.com/keras-training-tips/"
    "keras-training-tips'`"
)


def _pip_font_files() -> list[Path]:
    spec = importlib.util.find_spec(PIP_FONT_PACKAGE)  # found without importing it: its import
    if spec is None or not spec.submodule_search_locations:  # would change rcParams
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return sorted(folder.glob("NanumGothic*.ttf"))


def hangul_font() -> str | None:
    """The family name of an installed font with Hangul, or None."""
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((family for family in HANGUL_FAMILIES if family in names), None)

    found = installed()
    if found:
        return found
    files = [
        *(p for d in FONT_DIRS if d.is_dir() for p in sorted(d.glob("*.ttf"))),
        *_pip_font_files(),
    ]
    for file in files:  # installed after Matplotlib built its font cache
        try:
            font_manager.fontManager.addfont(str(file))
        except (OSError, RuntimeError, ValueError):
            continue
    return installed()


def use_hangul_font() -> str | None:
    """Adds a Hangul font after DejaVu Sans in ``font.family``; returns its name, or None when
    there is none (figures with Korean text then need one: see :data:`INSTALL_HINT`)."""
    import matplotlib

    family = hangul_font()
    if family is None:
        return None
    current = matplotlib.rcParams["font.family"]
    current = [current] if isinstance(current, str) else list(current)
    if current == ["sans-serif"]:
        current = [matplotlib.rcParams["font.sans-serif"][0]]
    if family not in current:
        matplotlib.rcParams["font.family"] = [*current, family]
    return family

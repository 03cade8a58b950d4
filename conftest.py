"""Collection rules for `make test` (pytest tests notebooks): this file sits at the root so its
hook sees notebooks/ too (a conftest.py applies to the folder it is in and below)."""

from pathlib import Path

# The Korean edition (notebooks/ko) under nbval: these notebooks only, to keep CI's time. Every
# Korean notebook's code is checked to be its English notebook's (tests/test_translations.py),
# and the English ones all run.
KOREAN_UNDER_NBVAL = ("01_", "04_", "07_", "25_")


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    in_korean_edition = path.parent.name == "ko" and path.parent.parent.name == "notebooks"
    if path.suffix == ".ipynb" and in_korean_edition:
        return not path.name.startswith(KOREAN_UNDER_NBVAL)
    return None

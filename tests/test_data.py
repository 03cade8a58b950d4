"""utils.data, the front door: every name the notebooks and tests use, from the module that
holds it, and `make data` (``python -m utils.data``), which prints its table.

Each concern has its own tests: test_sources.py, test_standins.py, test_fashion_mnist.py,
test_imdb.py and test_cifar100.py (shared fixtures in datafiles.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from utils import cifar100, data, data_report, fashion_mnist, imdb, sources, standins

pytest_plugins = ["datafiles"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name,home",
    [
        ("load_fashion_mnist", fashion_mnist),
        ("FASHION_MNIST_CLASSES", fashion_mnist),
        ("FASHION_MNIST_FILES", fashion_mnist),
        ("load_imdb", imdb),
        ("load_imdb_text", imdb),
        ("imdb_word_index", imdb),
        ("decode_review", imdb),
        ("load_cifar100", cifar100),
        ("CIFAR100_FINE", cifar100),
        ("CIFAR100_COARSE", cifar100),
        ("CIFAR100_FINE_TO_COARSE", cifar100),
        ("CIFAR100_TAR", cifar100),
        ("Loaded", standins),
        ("STANDIN_CHOICES", standins),
        ("DataNotFoundError", sources),
        ("DataCorruptError", sources),
        ("data_report", data_report),
        ("main", data_report),
    ],
)
def test_the_public_names_are_those_of_their_modules(name, home):
    assert name in data.__all__
    assert getattr(data, name) is getattr(home, name)


def test_every_name_in_all_exists():
    assert all(hasattr(data, name) for name in data.__all__)


def test_data_report_lists_every_dataset(isolated, fake_fashion):
    rows = data.data_report()
    assert [r["dataset"] for r in rows] == [
        "Fashion-MNIST",
        "IMDB (sequences)",
        "IMDB (raw text)",
        "CIFAR-100",
        "TFDS fashion_mnist",
        "TFDS imdb_reviews",
    ]
    assert rows[0]["source"] == "mirror" and rows[0]["verified"].startswith("yes")
    assert rows[3]["source"].startswith("unavailable")
    # the fake files are not the ones TFDS registers, and Stanford's archive is missing
    assert all(row["source"].startswith("not ready") for row in rows[4:])
    assert "aclImdb_v1.tar.gz" in rows[5]["where"]
    json.dumps(rows)


def test_make_data_prints_its_table_and_flags_a_corrupt_copy(fake_fashion, capsys):
    assert data.main() == 0
    out = capsys.readouterr().out
    assert "Keras cache:" in out and "| dataset" in out and "| Fashion-MNIST" in out
    mirror, _ = fake_fashion
    victim = mirror / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-1])
    assert data.main() == 1
    assert "CORRUPT" in capsys.readouterr().out


def test_python_m_utils_data_runs(tmp_path):
    """What `make data` runs, on a machine with no data and no network: a table, exit 0."""
    env = {k: v for k, v in os.environ.items() if k != "KTT_DATA_MIRROR"}
    env.update(KERAS_HOME=str(tmp_path), KTT_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-m", "utils.data"],
        capture_output=True,
        text=True,
        timeout=600,  # it also prepares the TFDS copy (about 20 s on two idle cores)
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    labels = ("Fashion-MNIST", "IMDB (sequences)", "IMDB (raw text)", "CIFAR-100")
    for label in (*labels, "TFDS fashion_mnist", "TFDS imdb_reviews"):
        assert f"| {label}" in out.stdout
    assert "unavailable" in out.stdout

"""Installed from a wheel (as pip installs it from GitHub on Colab) and run from a folder outside
the checkout, the project works and writes nothing inside the installed package.

The wheel is built from a copy of the sources (pip builds in place, and the checkout's build/
must stay the notebooks'), installed with ``pip install --target`` into a temporary folder that
goes first on ``PYTHONPATH``, and used from another temporary folder: a result recorded there
lands in that folder's ``build/`` (or ``$KTT_BUILD_DIR``), and the installed files are unchanged.
The last test runs notebook 03 in quick mode the same way, with ``make run``'s runner.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from utils import paths

ROOT = Path(__file__).resolve().parent.parent


def run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, site): the project's wheel, and the folder it is installed into."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "utils", source / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--quiet", "-w", str(base / "dist"), str(source)], timeout=600)
    (wheel,) = (base / "dist").glob("*.whl")
    site = base / "site"
    run([*pip, "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)], timeout=300)
    return wheel, site


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def outside_env(site: Path, **extra) -> dict[str, str]:
    """This environment as a user's: no test-harness folders, the installed copy first."""
    env = {k: v for k, v in os.environ.items() if k not in ("KTT_RESULTS_DIR", paths.BUILD_ENV)}
    return env | {"PYTHONPATH": str(site), **extra}


RECORD = """
import json, utils
from utils import paths, results
results.record("03_l2_regularization", answer=42)
print(json.dumps({"utils": utils.__file__, "build": str(paths.BUILD_DIR),
                  "repo": str(paths.REPO_ROOT), "results": str(results.results_dir())}))
"""


def test_the_wheel_holds_the_package_its_licence_and_its_declarations(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
    assert all(n.startswith(("utils/", "keras_training_tips-")) for n in names), names
    assert "utils/paths.py" in names and any(n.endswith("licenses/LICENSE") for n in names)
    assert "Requires-Python: <3.14,>=3.11" in metadata
    assert "Requires-Dist: keras<4,>=3.15.1" in metadata
    assert "Requires-Dist: tensorboard<3,>=2.21" in metadata
    for extra in ("cpu", "gpu", "jupyter"):
        assert f"Provides-Extra: {extra}" in metadata
    homepage = "Project-URL: Homepage, https://github.com/keras-training-tips/keras-training-tips"
    assert homepage in metadata and "License-Expression: MIT" in metadata


def test_installed_and_run_elsewhere_it_writes_to_that_folders_build(installed, tmp_path):
    _, site = installed
    work = tmp_path / "work"
    work.mkdir()
    before = snapshot(site)
    done = run([sys.executable, "-c", RECORD], cwd=work, env=outside_env(site), timeout=300)
    where = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(where["utils"]).is_relative_to(site)  # the installed copy, not the checkout
    assert where["repo"] == "None" and where["build"] == str(work / "build")
    record = work / "build" / "results" / "03_l2_regularization.json"
    assert json.loads(record.read_text())["metrics"] == {"answer": 42}
    assert snapshot(site) == before, "something was written inside the installed package"


def test_the_build_folder_can_be_chosen(installed, tmp_path):
    _, site = installed
    work, chosen = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    env = outside_env(site, **{paths.BUILD_ENV: str(chosen)})
    done = run([sys.executable, "-c", RECORD], cwd=work, env=env, timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1])["build"] == str(chosen)
    assert (chosen / "results" / "03_l2_regularization.json").is_file()
    assert not (work / "build").exists()


def test_build_dir_rules(tmp_path, monkeypatch):
    """From a checkout: its build/; installed: the current folder's; the variable wins."""
    monkeypatch.delenv(paths.BUILD_ENV, raising=False)
    assert paths.build_dir() == ROOT / "build" == paths.BUILD_DIR
    installed_at = tmp_path / "site-packages" / "utils"
    installed_at.mkdir(parents=True)
    assert paths.find_checkout(installed_at) is None
    assert paths.build_dir(installed_at, cwd=tmp_path) == tmp_path / "build"
    monkeypatch.setenv(paths.BUILD_ENV, "out")
    assert paths.build_dir(installed_at, cwd=tmp_path) == tmp_path / "out"


def test_a_notebook_runs_in_quick_mode_from_an_installed_copy(installed, tmp_path):
    """`python -m utils.runner` from the installed copy, on notebook 03 copied to a folder
    outside the checkout: it runs, its outputs land in that folder's build/, and the installed
    package is unchanged."""
    _, site = installed
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "03_l2_regularization.ipynb", work / "notebooks")
    before = snapshot(site)
    command = [sys.executable, "-m", "utils.runner", "--quick", "--only", "03"]
    done = run(command, cwd=work, env=outside_env(site), timeout=900)
    assert "03_l2_regularization" in done.stdout and "1 ok, 0 failed" in done.stdout
    build = work / "build"
    run_json = json.loads((build / "run.json").read_text())
    assert run_json["mode"] == "quick" and run_json["notebooks"][0]["status"] == "ok"
    assert (build / "results" / "03_l2_regularization.json").is_file()
    assert (build / "executed" / "03_l2_regularization.ipynb").is_file()
    assert snapshot(site) == before, "something was written inside the installed package"

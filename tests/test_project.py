"""The project's declarations agree with each other and with what they promise:

- the public URL is declared once (``[project.urls]`` in pyproject.toml) and every Colab badge and
  install line (README, notebooks — read only) uses it;
- the supported Python versions: pyproject's ``requires-python``, the Makefile's check, ruff's
  target and the README say the same;
- pyproject's compatible ranges contain requirements.txt's pins, and each pin is declared;
- requirements-gpu.txt is requirements.txt with TensorFlow's GPU build in place of the CPU one;
- pip resolves the GPU set to exactly one TensorFlow distribution (a dry run against the package
  index, skipped when it cannot be reached);
- the LICENSE is MIT, and the README names each dataset's licence.
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
README = (ROOT / "README.md").read_text()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TF_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel"}

GITHUB = re.compile(r"^https://github\.com/([\w.-]+/[\w.-]+)$")
BADGE = re.compile(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/")
INSTALL = re.compile(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[@\"'\s#)]|$)")


def project_repo() -> str:
    match = GITHUB.match(PROJECT["urls"]["Homepage"])
    assert match, "[project.urls] Homepage must be https://github.com/<owner>/<name>"
    return match.group(1)


def notebook_text(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def test_badges_and_install_lines_use_the_declared_url():
    repo = project_repo()
    assert PROJECT["urls"]["Issues"] == f"https://github.com/{repo}/issues"
    readme_installs = INSTALL.findall(README)
    assert readme_installs, "the README must say how to install the project from GitHub"
    found = {"README.md": BADGE.findall(README) + readme_installs}
    for path in NOTEBOOKS:
        text = notebook_text(path)
        found[path.name] = BADGE.findall(text) + INSTALL.findall(text)
        assert BADGE.findall(text), f"{path.name} has no Colab badge"
    wrong = {name: sorted(set(repos) - {repo}) for name, repos in found.items()}
    assert not any(wrong.values()), f"not {repo}: {wrong}"


def supported_pythons() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^SUPPORTED_PYTHONS := (.+)$", makefile, re.M).group(1).split()


def test_supported_python_versions_agree():
    supported = supported_pythons()
    spec = SpecifierSet(PROJECT["requires-python"])
    assert supported == ["3.11", "3.12", "3.13"]
    for version in supported:
        assert f"{version}.0" in spec and f"{version}.9" in spec
    assert "3.10.14" not in spec and "3.14.0" not in spec
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + supported[0].replace(".", "")
    assert (
        "Python 3.11, 3.12 or 3.13" in README and "3.10" not in README.split("## The notebooks")[0]
    )


def pins(name: str) -> dict[str, Requirement]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            out[req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")] = req
    return out


def pinned_version(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator == "==", f"{req} must be pinned with =="
    return spec.version


def test_pyproject_ranges_contain_the_pins_and_declare_every_one():
    declared = {}
    for group in (PROJECT["dependencies"], *PROJECT["optional-dependencies"].values()):
        for line in group:
            req = Requirement(line)
            declared.setdefault(req.name, []).append(req)
    pinned = pins("requirements.txt")
    assert set(declared) - {"tensorflow"} == {req.name for req in pinned.values()} - {"tensorflow"}
    for name, req in pinned.items():
        version = pinned_version(req)
        assert any(version in r.specifier for r in declared[req.name]), f"{name}=={version}"
    assert not any(Requirement(d).name in TF_DISTRIBUTIONS for d in PROJECT["dependencies"])


def test_gpu_requirements_are_the_cpu_ones_with_tensorflow_swapped():
    cpu, gpu = pins("requirements.txt"), pins("requirements-gpu.txt")
    tf_version = pinned_version(cpu["tensorflow-cpu"])
    assert pinned_version(cpu["tensorflow"]) == tf_version
    assert pinned_version(gpu.pop("tensorflow[and-cuda]")) == tf_version
    assert not set(gpu) & TF_DISTRIBUTIONS
    del cpu["tensorflow-cpu"], cpu["tensorflow"]
    assert {n: str(r) for n, r in gpu.items()} == {n: str(r) for n, r in cpu.items()}
    dev = pins("requirements-dev.txt")
    assert (
        not set(dev) & TF_DISTRIBUTIONS and "-r" not in (ROOT / "requirements-dev.txt").read_text()
    )


def index_reachable() -> bool:
    from utils import sources

    return sources._connects(("pypi.org", 443), 3.0)


def test_the_gpu_switch_resolves_to_exactly_one_tensorflow(tmp_path):
    """What `make setup GPU=1` installs, resolved by pip from the index (metadata only: no wheel
    is downloaded). The CPU set needs no dry run: every `make setup` installs it, and
    test_gpu_requirements_are_the_cpu_ones_with_tensorflow_swapped checks it names one."""
    if not sys.platform.startswith("linux") or not index_reachable():
        pytest.skip("needs Linux and the package index (pypi.org)")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--report", str(report), "-r", str(ROOT / "requirements-gpu.txt")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    installs = json.loads(report.read_text())["install"]
    names = [re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower() for item in installs]
    assert [name for name in names if name in TF_DISTRIBUTIONS] == ["tensorflow"]
    assert "tensorboard" in names and any(name.startswith("nvidia-cudnn") for name in names)


def test_license_and_dataset_licences():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 Keras Training Tips contributors" in license_text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    licences = README.split("## Licences")[1].split("\n## ")[0]
    for needed in (
        "MIT",
        "Fashion-MNIST",
        "Maas",
        "2011",
        "CIFAR-100",
        "Krizhevsky",
        "scikit-learn",
    ):
        assert needed in licences, needed

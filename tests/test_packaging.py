"""Packaging: pyproject.toml's console script, version and package data point at real things, and an
installed copy's `qa` command runs from another folder."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

import qa

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_console_script_qa_resolves_to_the_cli_main():
    module, _, attr = PYPROJECT["project"]["scripts"]["qa"].partition(":")
    target = getattr(importlib.import_module(module), attr)
    assert callable(target) and target is qa.cli.main.main


def test_version_is_read_from_qa_dunder_version():
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "qa.__version__"}
    assert qa.__version__ == "0.1.0"


def test_package_data_files_exist_and_only_qa_packages_ship():
    setuptools = PYPROJECT["tool"]["setuptools"]
    for package, names in setuptools["package-data"].items():
        for name in names:
            assert (ROOT / package.replace(".", "/") / name).is_file(), f"{package}: {name}"
    assert setuptools["packages"]["find"]["include"] == ["qa*"]


def test_dependencies_leave_out_test_tools_and_pin_torch():
    deps = PYPROJECT["project"]["dependencies"]
    names = {re.match(r"[\w.-]+", d).group().lower() for d in deps}
    assert not names & {"pytest", "hypothesis", "playwright"}
    assert "torch==2.13.0" in deps  # a looser torch resolves to PyPI's CUDA build


@pytest.mark.slow
def test_installed_qa_command_indexes_and_answers_from_another_folder(corpus_dir, tmp_path):
    """pip-installs a copy (no deps: this interpreter's) and runs its `qa` script away from the checkout."""
    src, target, work = tmp_path / "src", tmp_path / "site", tmp_path / "elsewhere"
    src.mkdir()
    work.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(ROOT / "qa", src / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(src)], check=True, capture_output=True, timeout=300)
    script = target / "bin" / "qa"
    assert (target / "qa" / "answer" / "offtopic_questions.txt").is_file()
    assert not (target / "tests").exists() and not (target / "bench").exists()
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*args):
        return subprocess.run([str(script), *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"qa {qa.__version__}"
    built = run("index", str(corpus_dir), "--index", "ix", "--json")
    assert built.returncode == 0, built.stderr
    answered = run("ask", "What did Russia propose on decarbonization?", "--index", "ix", "-k", "2")
    assert answered.returncode == 0, answered.stderr
    assert "[1] Russia proposes energy talks" in answered.stdout
    bad = run("ask", "   ", "--index", "ix")
    assert bad.returncode == 2 and "question is empty" in bad.stderr  # main()'s code is the exit code
    check = subprocess.run([sys.executable, "-c", "import qa; print(qa.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert check.stdout.startswith(str(target))  # the installed copy ran, not the checkout

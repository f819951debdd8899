# The package app.resources is the repository's top-level resources/ folder (pyproject.toml maps it
# with setuptools' package-dir); tell PyInstaller's module finder where it is, as setuptools does.
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def pre_find_module_path(api):
    api.search_dirs = [str(ROOT)]

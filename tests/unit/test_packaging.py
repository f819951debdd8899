"""Installed copies are complete: every package and resource is in the build, read via importlib.resources."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from app.models.catalog import load_catalog
from app.utils.resources import resource

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_package_under_app_is_listed_for_the_build() -> None:
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "app").rglob("__init__.py")} | {
        "app.resources"
    }
    assert set(SETUPTOOLS["packages"]) == on_disk, "add new packages to [tool.setuptools] packages in pyproject.toml"


def test_every_resource_file_is_package_data() -> None:
    assert SETUPTOOLS["package-dir"]["app.resources"] == "resources"
    patterns = SETUPTOOLS["package-data"]["app.resources"]
    files = [
        p.relative_to(ROOT / "resources").as_posix()
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"
    ]
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert files and not unshipped


def test_resources_are_found_through_the_package() -> None:
    assert resource("catalog.json").is_file() and load_catalog().entries
    assert {t.name for t in resource("templates").iterdir()} >= {"deepseek-v1.jinja", "deepseek-v2.jinja"}
    assert resource("icons", "dscoder-256.png").read_bytes().startswith(b"\x89PNG")
    assert "Exec=dscoder" in resource("io.github.dscoder.DeepSeekCoderDesktop.desktop").read_text(encoding="utf-8")
    assert "<component" in resource("io.github.dscoder.DeepSeekCoderDesktop.metainfo.xml").read_text(encoding="utf-8")


def test_no_module_finds_resources_relative_to_its_own_file() -> None:
    # A path computed from __file__ points outside an installed package (site-packages/resources).
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*(ROOT / "app").rglob("*.py"), *(ROOT / "packaging").rglob("*.py")]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "__file__" in line
        and re.search(r"resources|templates|catalog\.json|icons", line)
        and "make_icons" not in path.name
    ]
    assert offenders == []


# Imported under a name of their own but installed with a declared distribution.
COMES_WITH = {"shiboken6": "PySide6-Essentials (it pins its own shiboken6)"}


def _distribution(requirement: str) -> str:
    name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports() -> dict[str, str]:
    """{top-level module: a file importing it} for every import under app/ outside the standard library."""
    import ast
    import sys

    found: dict[str, str] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("app", "__future__"):
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_a_declared_dependency() -> None:
    from importlib.metadata import packages_distributions

    declared = {_distribution(r) for r in PYPROJECT["project"]["dependencies"]}
    installed_by = packages_distributions()
    undeclared = [
        f"{module} (imported by {where}; installed by {', '.join(installed_by.get(module, ['nothing']))})"
        for module, where in _third_party_imports().items()
        if module not in COMES_WITH and not declared & {_distribution(d) for d in installed_by.get(module, [])}
    ]
    assert undeclared == [], "declare these in pyproject.toml's dependencies: " + "; ".join(undeclared)


def test_llama_cpp_python_comes_without_its_server_extra() -> None:
    """The app never imports llama_cpp.server: its extra would only add packages nobody uses.
    Only the test extra has it, for the remote-engine test that runs that server as a child."""
    app_llama = [r for r in PYPROJECT["project"]["dependencies"] if _distribution(r) == "llama-cpp-python"]
    assert app_llama == ["llama-cpp-python==0.3.36"]
    test_llama = [
        r for r in PYPROJECT["project"]["optional-dependencies"]["test"] if _distribution(r) == "llama-cpp-python"
    ]
    assert test_llama == ["llama-cpp-python[server]==0.3.36"]
    server_users = [
        str(path.relative_to(ROOT))
        for folder in ("app", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(from|import) llama_cpp(\.server| import server)", path.read_text(encoding="utf-8"), re.M)
    ]
    assert server_users == []

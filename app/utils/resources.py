"""The files shipped with the app (the repository's resources/, installed as `app.resources`).

Read through importlib.resources, so they are found wherever the app is installed: an editable
install (setuptools maps `app.resources` to the repository's resources/), a wheel (the files
are package data under app/resources/) and the PyInstaller bundle (collected by the spec).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

PACKAGE = "app.resources"


def resource(*parts: str) -> Traversable:
    """A shipped file or folder, for example resource("templates", "deepseek-v1.jinja")."""
    return files(PACKAGE).joinpath(*parts)

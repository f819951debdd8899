# PyInstaller hook for the app package: its resources are read relative to the package.
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("app")

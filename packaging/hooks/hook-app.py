# PyInstaller hook for the app package: every submodule, since some are imported by name only
# (the CLI's commands, the engine child's entry points).
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("app")

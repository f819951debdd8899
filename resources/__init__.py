"""Files shipped with DeepSeek-Coder Desktop, installed as the package `app.resources`.

The model catalog, the chat templates, the icons, the .desktop entry and the AppStream
metainfo. Code reads them through `app.utils.resources` (importlib.resources), never by a
path computed from a module's location, so they are found in an editable install, a wheel
and the PyInstaller bundle alike.
"""

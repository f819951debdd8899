"""The tiny GGUF maker lives in the app (the bundle's --self-test uses it too)."""

from app.diagnostics.tiny_model import *  # noqa: F401,F403
from app.diagnostics.tiny_model import HOSTILE_TEMPLATE, write_tiny_gguf, write_truncated_gguf  # noqa: F401

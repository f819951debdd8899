"""The multi-file review dialog and the window glue of edits (Accept, editors reloaded, Undo)."""

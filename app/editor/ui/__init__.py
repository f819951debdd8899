"""The code editor: Scintilla widget, tabs, find bar, file tree and their actions."""

"""Edits across files: the one place that turns a model's answer into file changes.

formats (the edit formats and their parser) -> matching (SEARCH blocks found in a file)
-> changeset (a reviewable change per file, hunk by hunk) -> writing (atomic writes and
one Undo for all files); workspace holds the limits (the opened folder, which files
may change, what changed on disk since it was read); prompt asks the model in the
format. Qt-free; the review dialog is in ui/.
"""

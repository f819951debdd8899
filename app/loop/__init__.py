"""The loop: ask for an edit, apply it, run the tests, feed the failures back, round after round.

rounds (the test run as the loop sees it, the round counter and its status line) ->
feedback (the failures trimmed to a budget, the files changed beyond the model's own
edit) -> driver (the loop run to its end without a person: `dscoder edit`, the
benchmark). The window drives the same rounds by hand through its review and Run
panel (app/mainwindow/edit_loop.py). Qt-free; built on app.edits (the change) and
app.run (the test run).
"""

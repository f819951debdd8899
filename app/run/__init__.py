"""Running code: the process runner (user commands and model-written code in a sandbox),
the folder's test command, and what a run's output says (file locations, test counts).

Qt-free; the Run dock lives in `ui/`.
"""

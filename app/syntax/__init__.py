"""Parsing source code with tree-sitter: which grammar a file needs, its definitions
(functions, classes, methods, impls...) with their names and signatures, its import
statements, and the syntax errors in it.

Qt-free. Used by apply-by-syntax (app.chat), the project map (app.project) and the
chat's attachments (the definition around a selection).
"""

"""Apply: put a chat answer's code where it belongs in a file. `plan` decides (the whole file,
each definition by syntax, or fuzzy line matching as the fallback) and returns hunks (`hunks`),
each accepted or rejected on its own; `syntax` places definitions with tree-sitter, `block`
reads an answer's block (a method alone becomes parseable)."""

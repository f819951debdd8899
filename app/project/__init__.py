"""The project map: a symbol outline of the opened folder (definitions with their
signatures, per file) from the real parser, kept up to date on save, and rendered
within a token budget by relevance to a question. Qt-free; ui/ runs the build in the
background."""

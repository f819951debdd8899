"""What the GUI process and the engine process both use: the engine's load options and sampling
parameters, the lines the engine prints for its supervisor, and DeepSeek-Coder's fixed token texts.

Below `app.llm` (the GUI side's client and supervisor) and `app.engine` (the engine process), so
that neither reaches into the other for a shared name."""

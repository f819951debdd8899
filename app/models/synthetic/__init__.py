"""GGUF models written at run time, from one writer.

- `tiny`: tiny but real llama models with DeepSeek-Coder's special tokens and chat
  templates (and the bad variants the app must survive), for the tests and `--self-test`;
- `shapes`: header-only files with the exact DeepSeek-Coder shapes, extended sparsely to
  their full length, for the GGUF reader, the estimator and the planner;
- `bench`: the machine-speed benchmark's model, a few hundred MB of Q4_K weights.

All three start from `writer` (the llama hyper-parameters and a SentencePiece-style
vocabulary), so a fix to how a GGUF is written is made once.
"""

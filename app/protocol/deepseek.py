"""DeepSeek-Coder's fixed texts: its special tokens, its default system prompt, and where the
chat templates of the model families live. Constants only, so that code which needs a token's
text (FIM prompts for remote servers, the settings dialog, the synthetic models) does not
import the template engine."""

from __future__ import annotations

from app.utils.resources import resource

TEMPLATES_DIR = resource("templates")

# DeepSeek-Coder token texts (the bars are U+FF5C, the space U+2581; only EOT uses ASCII '|').
DS_BOS = "<｜begin▁of▁sentence｜>"
DS_EOS = "<｜end▁of▁sentence｜>"
DS_EOT = "<|EOT|>"
DS_FIM_BEGIN = "<｜fim▁begin｜>"
DS_FIM_HOLE = "<｜fim▁hole｜>"
DS_FIM_END = "<｜fim▁end｜>"

DEEPSEEK_V1_SYSTEM_PROMPT = (
    "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by "
    "Deepseek Company, and you only answer questions related to computer science. For politically "
    "sensitive questions, security and privacy issues, and other non-computer science questions, "
    "you will refuse to answer"
)

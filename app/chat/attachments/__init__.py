"""What a question carries besides its text: its attachments.

- excerpts.py: `Attachment`, and how each kind is cut from a file (the current file or
  the part around the cursor, a selection with its definition, an @file, the project map);
- rules.py: which attachments the next question carries (the editor's chip, `@` mentions,
  the project map, the budgets), the chips that show them, and the start of the request;
- prompt.py: how the attachments are written into the user's message.

Qt-free; the owner that keeps them up to date is app/chat/ui/question_attachments.py.
"""

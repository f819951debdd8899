"""The Settings dialog: every user setting, validated, with the engine restarted where a change needs it."""

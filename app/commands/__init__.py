"""Subcommands of `dscoder`: each module runs one (its `run`); app/cli.py lists them and
app/commands/arguments.py builds their arguments, so a module is imported only when its command runs."""

"""Subcommands of `dscoder`; each module exposes `register(subparsers)`."""

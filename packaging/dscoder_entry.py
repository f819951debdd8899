"""Entry point of the frozen bundle (PyInstaller).

One executable does everything: `dscoder` opens the window or runs a CLI subcommand,
and `dscoder --engine ...` is the engine child process, so the bundle needs no
separate Python to run the model.
"""

import sys


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--engine":
        from app.engine.main import main as engine_main

        return engine_main(sys.argv[2:])
    from app.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

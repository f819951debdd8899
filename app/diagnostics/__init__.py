"""Self-checks that ship with the app: the tiny model maker and `dscoder --self-test`."""

"""Qt-free core: nothing in this package imports Qt."""

"""The diagnostics that touch Qt or the window's platform: the self-test (the real window,
offscreen), the Qt child of `dscoder doctor`, and the display check made before Qt starts."""

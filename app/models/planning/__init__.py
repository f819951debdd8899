"""Which model runs on this machine, and how: the memory estimator, the speed prediction, the
planner that picks a model, quantization, GPU layers and context (with its reasons), the GPU-layer
and load checks made before the engine starts, and the measurements of real loads that correct
the estimates."""

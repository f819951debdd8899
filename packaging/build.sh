#!/usr/bin/env bash
# Build the double-click app: dist/dscoder/ (one folder, windowed), from the repository root.
#
# It installs what it needs into the Python environment it runs in (PyInstaller and a
# portable llama.cpp build), then runs PyInstaller on packaging/dscoder.spec.
#
# The bundled llama.cpp must run on other x86-64 CPUs than this one, so it is built with
# GGML_NATIVE=OFF and the CPU backend as loadable variants (GGML_BACKEND_DL with
# GGML_CPU_ALL_VARIANTS): llama.cpp picks the best variant (AVX2, AVX-512, ...) at run time.
# Other accelerators, set DSCODER_CMAKE_ARGS instead:
#   CUDA:   -DGGML_CUDA=ON -DGGML_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES="75;80;86;89;90"
#   Metal:  -DGGML_METAL=ON (the default on Apple Silicon)
#   Vulkan: -DGGML_VULKAN=ON -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then python=.venv/bin/python; fi

cmake_args=${DSCODER_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON}
echo "build: installing the app, PyInstaller and llama-cpp-python ($cmake_args)"
"$python" -m pip install -q -e '.[packaging]'
# pip caches built wheels by source, not by CMAKE_ARGS: without --no-cache-dir it would reuse
# the native wheel here, or leave this portable one in the cache for every later install.
CMAKE_ARGS="$cmake_args" "$python" -m pip install -q --force-reinstall --no-deps --no-cache-dir \
  --no-binary llama-cpp-python "llama-cpp-python==0.3.36"

echo "build: running PyInstaller"
"$python" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/dscoder.spec
echo "build: done: dist/dscoder/dscoder (try: dist/dscoder/dscoder --self-test)"

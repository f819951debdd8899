#!/usr/bin/env bash
# Build the double-click app: dist/dscoder/ (one folder, windowed), from the repository root.
#
#   packaging/build.sh            the release build: installs PyInstaller and a portable llama.cpp
#                                 (a ~30-minute compile on 2 cores), then runs PyInstaller
#   packaging/build.sh --native   bundles the llama-cpp-python already installed in the environment
#                                 (no compile: minutes); what CI builds and self-tests on every run
#
# The release bundle's llama.cpp must run on other x86-64 CPUs than this one, so it is built with
# GGML_NATIVE=OFF and the CPU backend as loadable variants (GGML_BACKEND_DL with
# GGML_CPU_ALL_VARIANTS): llama.cpp picks the best variant (AVX2, AVX-512, ...) at run time.
# Other accelerators, set DSCODER_CMAKE_ARGS instead:
#   CUDA:   -DGGML_CUDA=ON -DGGML_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES="75;80;86;89;90"
#   Metal:  -DGGML_METAL=ON (the default on Apple Silicon)
#   Vulkan: -DGGML_VULKAN=ON -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
# A --native bundle carries whatever llama.cpp pip built here (usually for this CPU only): fine for
# checking the bundle, not for giving it to others.
set -euo pipefail
cd "$(dirname "$0")/.."
native=no
case "${1:-}" in
  --native) native=yes ;;
  "") ;;
  *) echo "usage: packaging/build.sh [--native]" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then python=.venv/bin/python; fi

echo "build: installing the app and PyInstaller"
"$python" -m pip install -q -e '.[packaging]'
if [ "$native" = no ]; then
  cmake_args=${DSCODER_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON}
  echo "build: compiling a portable llama-cpp-python ($cmake_args)"
  # pip caches built wheels by source, not by CMAKE_ARGS: without --no-cache-dir it would reuse
  # the native wheel here, or leave this portable one in the cache for every later install.
  CMAKE_ARGS="$cmake_args" "$python" -m pip install -q --force-reinstall --no-deps --no-cache-dir \
    --no-binary llama-cpp-python "llama-cpp-python==0.3.36"
else
  echo "build: bundling the installed llama-cpp-python $("$python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
fi

echo "build: running PyInstaller"
"$python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/dscoder.spec
echo "build: done: dist/dscoder/dscoder (try: dist/dscoder/dscoder --self-test)"

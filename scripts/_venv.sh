# Sourced by scripts/*: make .venv and install brainrouter into it when pyproject.toml changed.
# $1: the pip extra to install ("" or "test").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extra="${1:-}"
# llama-cpp-python compiles from source. A "native" build uses every instruction the build
# machine has (AMX, AVX-512...) and crashes on machines without them, or where the hypervisor
# forbids them; so it is built for a portable baseline, once, into a wheelhouse of our own
# (pip's cache would hand back a native wheel built by anyone).
llama_version="$(grep -o 'llama-cpp-python==[0-9.]*' "$root/pyproject.toml" | cut -d= -f3)"
if [ "$(uname -m)" = "x86_64" ]; then
  llama_flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
else
  llama_flags="-DGGML_NATIVE=OFF"
fi
# A GPU build instead, e.g. BRAINROUTER_LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" (needs the CUDA toolkit).
llama_flags="${BRAINROUTER_LLAMA_CMAKE_ARGS:-$llama_flags}"
flags_sum="$(echo "$llama_flags" | cksum | cut -d' ' -f1)"
wheelhouse="${XDG_CACHE_HOME:-$HOME/.cache}/brainrouter/wheels/llama-$llama_version-$flags_sum"
stamp="$venv/.installed${extra:+-$extra}-$flags_sum"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  if ! ls "$wheelhouse"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $llama_version (a few minutes, once)..." >&2
    mkdir -p "$wheelhouse"
    CMAKE_ARGS="$llama_flags" "$venv/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir \
      --wheel-dir "$wheelhouse" "llama-cpp-python==$llama_version" >&2
  fi
  # --force-reinstall of the one wheel: a venv made with other flags has another build of it.
  "$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall \
    "$wheelhouse"/llama_cpp_python-*.whl >&2
  "$venv/bin/python" -m pip install --quiet --find-links "$wheelhouse" \
    --editable "$root${extra:+[$extra]}" >&2
  touch "$stamp"
fi

# Sourced by scripts/*: make .venv and install brainrouter into it when pyproject.toml changed.
# $1: the pip extra to install ("" or "test").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extra="${1:-}"
stamp="$venv/.installed${extra:+-$extra}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  # llama-cpp-python compiles from source the first time (minutes); pip caches the wheel.
  "$venv/bin/python" -m pip install --quiet --editable "$root${extra:+[$extra]}" >&2
  touch "$stamp"
fi

#!/usr/bin/env bash
# The C++ tests (tests/cpp) against the installed losskit, i.e. the library the wheel ships:
# tests/cpp is configured as its own CMake project with losskit_DIR = losskit.get_cmake_dir(),
# built, and run by CTest. Needs losskit installed in the active Python (`pip install .`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LOSSKIT_CPP_TESTS_BUILD:-$root/build/cpp-tests}"
# (cd / : python -c would otherwise import the uncompiled source package from the repository)
cmake_dir="$(cd / && python -c 'import losskit; print(losskit.get_cmake_dir())')"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root/tests/cpp" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -Dlosskit_DIR="$cmake_dir"
cmake --build "$build" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
cd "$build"
ctest --output-on-failure

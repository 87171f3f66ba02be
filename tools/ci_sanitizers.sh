#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer: builds the library, the C++ tests and the
# Python module losskit._core instrumented (CMake option LOSSKIT_SANITIZE, -O1), runs the C++
# tests, then a Python smoke suite against that module. Every report ends its process
# (-fno-sanitize-recover=all; ASan halts on its first error), so passing means zero reports.
#
# The Python interpreter itself is not instrumented: the ASan runtime has to be loaded first
# (LD_PRELOAD), with libstdc++ beside it (ASan's __cxa_throw interceptor binds to the C++
# runtime present at start-up; python does not link it), and leak detection is off for that
# run only (CPython leaves objects alive at exit by design, which LeakSanitizer would report);
# the C++ tests run with it on.
set -euo pipefail
# One argument: "build" (configure and compile only), "test" (run what "build" compiled), or
# none for both. .ci/run compiles while the test command runs, then tests.
phase="${1:-all}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LOSSKIT_SANITIZER_BUILD:-$root/build/sanitizers}"
cxx="${CXX:-c++}"
pybind11_dir="$(cd / && python -m pybind11 --cmakedir)"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
# Two instruction sets, not three (each instrumented kernel build takes minutes): sse2, whose
# array tails are memcpy that ASan sees (the masked loads and stores of avx2 and avx512 are
# intrinsics it does not instrument), and the widest level this CPU runs.
isas="sse2"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
if [[ $cpu_flags == *avx512f* && $cpu_flags == *avx512dq* && $cpu_flags == *avx512bw* &&
      $cpu_flags == *avx512vl* ]]; then
  isas="sse2;avx512"
elif [[ $cpu_flags == *avx2* && $cpu_flags == *fma* && $cpu_flags == *bmi2* ]]; then
  isas="sse2;avx2"
fi
if [[ $phase != test ]]; then
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DLOSSKIT_SANITIZE=ON \
  -DLOSSKIT_ISAS="$isas" -DLOSSKIT_BUILD_TESTS=ON -DLOSSKIT_BUILD_PYTHON=ON \
  -Dpybind11_DIR="$pybind11_dir"
cmake --build "$build" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
fi
if [[ $phase == build ]]; then exit 0; fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
(cd "$build" && ctest --output-on-failure)

# A copy of the package with the instrumented module (under build/, which git ignores).
stage="$build/python"
rm -rf "$stage"
mkdir -p "$stage"
cp -r "$root/losskit" "$stage/losskit"
rm -f "$stage"/losskit/_core*.so
cp "$build"/_core*.so "$stage/losskit/"
export LD_PRELOAD="$("$cxx" -print-file-name=libasan.so) $("$cxx" -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:strict_string_checks=1
export PYTHONPATH="$stage"
(cd / && python -c "import losskit, sys; sys.exit(not losskit.__file__.startswith('$stage'))")
cd "$root"
# (without the two tests of test_losses.py that repeat large arrays for numerics, not for new
# code paths: thread-count determinism is checked under the sanitizers by the C++ tests)
CI=true HYPOTHESIS_PROFILE=sanitizers pytest -q -p no:cacheprovider tests/test_losses.py tests/test_rowwise.py \
  tests/test_classification.py tests/test_barron.py tests/test_optim.py tests/test_utils.py \
  tests/test_validation.py tests/test_fuzz.py tests/test_concurrency.py tests/test_grad_hess.py \
  -k "not test_thread_counts_bitwise_identical and not test_large_float32_reduction_is_accurate \
and not test_threads_and_isas"

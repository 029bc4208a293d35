#!/usr/bin/env bash
# The unit suite under AddressSanitizer and UndefinedBehaviorSanitizer: configures the project with
# STORCON_SANITIZE=ON in its own build directory (kept, so later runs rebuild only what changed),
# builds unit_tests and runs it with leak detection on and UBSan stopping at its first report.
# CTest runs it as unit.sanitized; by hand:
#
#   test/unit/run_sanitized.sh <source-dir> <build-dir> [extra cmake -D options...]
set -euo pipefail

src=${1:?usage: run_sanitized.sh <source-dir> <build-dir> [cmake options...]}
build=${2:?usage: run_sanitized.sh <source-dir> <build-dir> [cmake options...]}
shift 2

# Debug: -O0 compiles fastest and gives exact lines in the reports. The inner configure has
# STORCON_SANITIZE=ON, so it does not register unit.sanitized (or the fuzz test) again.
cmake -S "$src" -B "$build" -DSTORCON_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
cmake --build "$build" --target unit_tests -j"$(nproc 2>/dev/null || echo 2)"

export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec "$build/unit_tests"

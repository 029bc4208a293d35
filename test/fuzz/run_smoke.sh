#!/usr/bin/env bash
# Builds test/fuzz/fuzz_hook.cpp with clang's libFuzzer, ASan and UBSan, then fuzzes the hook's
# request path for a bounded time from a copy of the seed corpus (the contract's example bodies).
# Exits non-zero when the fuzzer finds a crash, a leak, a sanitizer report or a violated property;
# the input that did it is kept in <work-dir>/artifacts/.
#
#   test/fuzz/run_smoke.sh <source-dir> <work-dir> [seconds]      (CTest: fuzz.hook_smoke, 20 s)
#
# Objects are kept in <work-dir>/obj-<compiler> and rebuilt only when their source, a control/
# header or this script is newer. A long run (hours, on every core, growing a corpus kept outside
# the source tree; from the source directory):
#
#   test/fuzz/run_smoke.sh . /tmp/fuzz-hook 0      # builds only (0 s), prints the binary
#   mkdir -p /tmp/fuzz-hook/corpus && cp test/fuzz/corpus/* /tmp/fuzz-hook/corpus/
#   /tmp/fuzz-hook/fuzz_hook -dict=test/fuzz/hook.dict -max_len=65536 -use_value_profile=1 \
#       -jobs=$(nproc) -workers=$(nproc) -max_total_time=14400 \
#       -artifact_prefix=/tmp/fuzz-hook/artifacts/ /tmp/fuzz-hook/corpus
#
# Environment: STORCON_FUZZ_CXX (default clang++-14, else clang++).
set -euo pipefail

src=$(cd "${1:?usage: run_smoke.sh <source-dir> <work-dir> [seconds]}" && pwd)
work=${2:?usage: run_smoke.sh <source-dir> <work-dir> [seconds]}
seconds=${3:-20}
cxx=${STORCON_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
[[ -n "$cxx" ]] || { echo "run_smoke: no clang++ found (install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

obj=$work/obj-$(basename "$cxx")
mkdir -p "$obj" "$work/artifacts"
work=$(cd "$work" && pwd)

# control/ sources the request path links against (hook.cpp and what it calls). A new dependency
# shows up as an undefined reference at the link below: add its file here.
sources=(hook hook_plan hook_engine notify_attach notify_safekeepers json_fields ids auto_conf catalog)
flags=(-std=c++17 -O1 -gline-tables-only -fno-omit-frame-pointer -I"$src" -DSTORCON_CONTROL_BUILD
       -DPG_STORCON_VERSION=\"fuzz\")
sanitize=-fsanitize=address,undefined

newest_input=$(ls -t "$src"/control/*.hpp "$0" | head -n 1)
stale() {  # stale <object> <source>
  [[ ! -f "$1" || "$2" -nt "$1" || "$newest_input" -nt "$1" ]]
}

pids=()
objects=()
compile() {  # compile <source> <object> <extra flags...>
  local source=$1 object=$2
  shift 2
  objects+=("$object")
  if stale "$object" "$source"; then
    "$cxx" "${flags[@]}" "$@" -c "$source" -o "$object.tmp" && mv "$object.tmp" "$object" &
    pids+=($!)
    # At most as many compilers as cores.
    if ((${#pids[@]} >= $(nproc))); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
}
started=$SECONDS
for s in "${sources[@]}"; do
  compile "$src/control/$s.cpp" "$obj/$s.o" "$sanitize" -fsanitize=fuzzer-no-link
done
compile "$src/test/fuzz/fuzz_hook.cpp" "$obj/fuzz_hook.o" "$sanitize" -fsanitize=fuzzer-no-link -Wall -Wextra
for p in "${pids[@]}"; do wait "$p"; done
"$cxx" "$sanitize" -fsanitize=fuzzer "${objects[@]}" -o "$work/fuzz_hook"
echo "run_smoke: built $work/fuzz_hook in $((SECONDS - started)) s"
((seconds > 0)) || exit 0

# libFuzzer adds what it finds to its first corpus directory: a throw-away copy of the seeds.
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$src"/test/fuzz/corpus/* "$corpus/"
status=0
"$work/fuzz_hook" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$src/test/fuzz/hook.dict" -artifact_prefix="$work/artifacts/" "$corpus" || status=$?
if ((status != 0)); then
  echo "run_smoke: fuzz_hook failed (exit $status); reproduce with: $work/fuzz_hook $work/artifacts/<file>" >&2
fi
exit "$status"

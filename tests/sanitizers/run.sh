#!/usr/bin/env bash
# tests/sanitizers/run.sh BUILD_DIR address|thread [CTEST_ARGS...]
# Runs the tests of a sanitizer build (`make sanitize`, `make tsan`) and fails on any report,
# whichever process made it: the test binaries, flotilla, and the workers it starts. Each
# sanitizer writes its reports to BUILD_DIR/sanitizer-reports/<kind>.<pid> (log_path) instead of
# stderr, so a report from a worker that the group simply replaced is still seen here. The tests
# left out are listed, each with its reason, in tests/sanitizers/excluded-<kind>.txt.
set -uo pipefail
build_dir=$(cd "$1" && pwd)
kind=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
reports=$build_dir/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"

# ctest -E takes one regex: the excluded names (comments and blank lines dropped), escaped.
excluded=$(grep -v '^\s*\(#\|$\)' "$here/excluded-$kind.txt" | sed 's/[][\.*^$()+?{}|]/\\&/g' |
           paste -sd'|')
exclude_args=()
if [ -n "$excluded" ]; then exclude_args=(-E "$excluded"); fi

common="log_path=$reports/report:print_stacktrace=1"
case $kind in
  address)
    export ASAN_OPTIONS="$common:detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="$common:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
    ;;
  thread)
    export TSAN_OPTIONS="$common:halt_on_error=0:second_deadlock_stack=1"
    ;;
  *) echo "run.sh: kind must be address or thread, not '$kind'" >&2; exit 2 ;;
esac

cores=$(nproc)
start=$(date +%s)
(cd "$build_dir" && ctest --output-on-failure -j $((cores + 6)) --timeout 900 \
   --resource-spec-file ctest-resources.json "${exclude_args[@]}" "$@")
ctest_rc=$?
seconds=$(( $(date +%s) - start ))

found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  count=$(echo "$found" | wc -l)
  for f in $found; do echo "=== $f"; cat "$f"; done
  echo "sanitize ($kind): $count report(s) in $reports, ctest exit $ctest_rc, ${seconds} s" >&2
  exit 1
fi
echo "sanitize ($kind): no report, ctest exit $ctest_rc, ${seconds} s"
exit $ctest_rc

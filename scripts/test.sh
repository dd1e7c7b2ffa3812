#!/bin/sh
# scripts/test.sh - install what is missing, build, and run every test.
#
# Two builds: a release-like one with warnings as errors, and one with
# AddressSanitizer + UndefinedBehaviorSanitizer; the whole suite runs in both.
# Then the Debian package is built, installed, used and purged
# (scripts/test-package.sh), and every fuzz target runs for FUZZ_SECONDS
# (default 30; scripts/fuzz.sh).
# Also fails on code that is not clang-formatted.  Idempotent.  The last line
# is "N passed, N failed" counting every test case (TAP subtests included).
set -eu
cd "$(dirname "$0")/.."

./scripts/deps.sh

status=0

# 1. formatting (the checked-in .clang-format is the house style)
unformatted=$(git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null |
	while read -r f; do
		[ -f "$f" ] && ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1 && echo "$f"
	done || true)
if [ -n "$unformatted" ]; then
	echo "test: not clang-formatted (run clang-format -i):" $unformatted >&2
	status=1
fi

# 2. build both variants
setup() { # setup DIR ARGS...
	dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
	if grep -q "warning:" "$dir.log"; then
		grep "warning:" "$dir.log" >&2
		status=1
	fi
}
setup build --werror
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false

# 3. run the suites
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
for dir in build build-asan; do
	echo "== tests in $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done

./scripts/test-package.sh -o build/package-test.tap || status=1

# 4. every fuzz target for a bounded time over its seed corpus and the
# reproducers of old bugs: a crash, leak or timeout fails the run
if ! ./scripts/fuzz.sh "${FUZZ_SECONDS:-30}" >build/fuzz.tap; then
	status=1
	grep -v '^ok' build/fuzz.tap >&2 || :
fi

# 5. one line that counts every case of both runs
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json build/package-test.tap build/fuzz.tap <<'PY'
import json, re, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    if path.endswith(".tap"):  # a TAP file written by a script (test-package.sh)
        try:
            out = open(path, errors="replace").read()
        except OSError:
            continue
        passed += len(re.findall(r"^ok \d+", out, re.M))
        failed += len(re.findall(r"^not ok \d+", out, re.M)) + len(re.findall(r"^Bail out!", out, re.M))
        continue
    for line in open(path, errors="replace"):
        try:
            t = json.loads(line)
        except ValueError:
            continue  # not a test record
        out = t.get("stdout") or ""
        oks = len(re.findall(r"^ok \d+", out, re.M))
        noks = len(re.findall(r"^not ok \d+", out, re.M))
        res = t.get("result")
        if oks + noks == 0:
            if res == "OK": passed += 1
            elif res == "SKIP": skipped += 1
            else: failed += 1
        else:
            passed += oks
            failed += noks
            if res not in ("OK", "SKIP") and noks == 0:
                failed += 1  # crashed or timed out after its last case
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status

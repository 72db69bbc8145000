#!/bin/sh
# tests/outbox/run.sh -- build tests/outbox/outbox_test by hand and run it
# against tools/receiver.py on a free port (the receiver picks it: --port 0).
#
#	tests/outbox/run.sh [BUILDDIR]
#
# BUILDDIR holds config.h (a configured build tree); without one, the
# project is configured in $OUT/build.  OUT (default /tmp/outbox-test)
# receives the binary, receiver.log (one JSON line per request) and
# receiver.err.  VALGRIND=1 runs the test under valgrind (definite leaks
# and memory errors fail).  Exit status: 0 pass, 1 a check failed, 2 setup.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OUT=${OUT:-/tmp/outbox-test}
mkdir -p "$OUT"

builddir=${1:-}
if [ -z "$builddir" ] || [ ! -f "$builddir/config.h" ]; then
	builddir=$OUT/build
	if [ ! -f "$builddir/config.h" ]; then
		mkdir -p "$builddir"
		(cd "$builddir" && "$top/configure" >/dev/null) || exit 2
	fi
fi

CC=${CC:-gcc}
# shellcheck disable=SC2046
$CC -std=gnu11 -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wformat=2 -Wno-unused-parameter -Werror \
    -I"$builddir" -iquote "$top/src" \
    $(pkg-config --cflags libevent libcurl jansson libcrypto) \
    -o "$OUT/outbox_test" \
    "$here/outbox_test.c" "$top/src/outbox.c" "$top/src/notify.c" \
    "$top/src/receiver.c" "$top/src/slack.c" \
    "$top/src/log.c" "$top/src/util.c" "$top/src/metrics.c" \
    $(pkg-config --libs libevent libcurl jansson libcrypto) -lm || exit 2

# The real interpreter, not a wrapper (pyenv shims): $pid must be Python
# itself so that the kill below reaches it.
PY=$(python3 -c 'import sys; print(sys.executable)')
: > "$OUT/receiver.log"
"$PY" "$top/tools/receiver.py" --port 0 --log "$OUT/receiver.log" \
    > "$OUT/receiver.out" 2> "$OUT/receiver.err" &
pid=$!
trap 'kill $pid 2>/dev/null || :; wait $pid 2>/dev/null || :' EXIT INT TERM

port=
i=0
while [ $i -lt 100 ]; do
	port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$OUT/receiver.out")
	[ -n "$port" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$port" ]; then
	echo "receiver.py did not start:" >&2
	cat "$OUT/receiver.err" >&2
	exit 2
fi
echo "receiver.py listening on $port (pid $pid)"

rc=0
if [ "${VALGRIND:-0}" = 1 ]; then
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
	    --show-leak-kinds=definite --error-exitcode=3 \
	    "$OUT/outbox_test" "http://127.0.0.1:$port" || rc=$?
else
	"$OUT/outbox_test" "http://127.0.0.1:$port" || rc=$?
fi
if [ -s "$OUT/receiver.err" ]; then
	echo "receiver.py stderr:" >&2
	cat "$OUT/receiver.err" >&2
fi
exit $rc

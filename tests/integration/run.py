#!/usr/bin/env python3
"""Run the churnwatchd integration tests.

    run.py [FILTER...]

Runs every function named test_* of every test_*.py file next to this
script (files sorted by name, functions in file order).  A FILTER keeps
only the tests whose "file::name" contains it.  Prints one line per test
and, last, "N passed, N failed"; exits 1 if any test failed.

Environment: CW_BIN, CW_PG_DIR, CW_PG_PORT (see lib.py); CW_IT_TIMEOUT
(seconds per test, default 120); CW_IT_KEEP=1 keeps every daemon's temp dir.
"""

import glob
import importlib.util
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lib  # noqa: E402


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test timed out after %s s" % os.environ.get(
        "CW_IT_TIMEOUT", "120"))


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tests = [(fn.__code__.co_firstlineno, n, fn)
             for n, fn in vars(mod).items()
             if n.startswith("test_") and inspect.isfunction(fn) and
             fn.__module__ == mod.__name__]
    return [(n, fn) for _, n, fn in sorted(tests, key=lambda t: t[0])]


def reason_of(e):
    s = str(e).strip()
    first = s.splitlines()[0] if s else ""
    return "%s: %s" % (type(e).__name__, first) if first else type(e).__name__


def main(argv):
    filters = argv[1:]
    per_test = float(os.environ.get("CW_IT_TIMEOUT", "120"))
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = 0
    t_start = time.monotonic()
    missing = [v for v in ("CW_BIN", "CW_PG_DIR", "CW_PG_PORT")
               if not os.environ.get(v)]
    if missing or not os.access(os.environ["CW_BIN"], os.X_OK):
        print("FAIL <environment>: %s" % (
            "not set: " + ", ".join(missing) if missing else
            "CW_BIN=%s is not an executable" % os.environ["CW_BIN"]))
        print("0 passed, 1 failed", flush=True)
        return 1
    try:
        for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
            fname = os.path.basename(path)
            try:
                tests = load(path)
            except Exception as e:
                if not filters or any(f in fname for f in filters):
                    failed += 1
                    print("FAIL %s::<import>: %s" % (fname, reason_of(e)),
                          flush=True)
                    traceback.print_exc(file=sys.stdout)
                continue
            for name, fn in tests:
                full = "%s::%s" % (fname, name)
                if filters and not any(f in full for f in filters):
                    continue
                t0 = time.monotonic()
                # A test that lives through days of faked time may ask
                # for more: fn.timeout (seconds), never less than
                # CW_IT_TIMEOUT.
                signal.setitimer(signal.ITIMER_REAL,
                                 max(per_test, getattr(fn, "timeout", 0)))
                try:
                    try:
                        fn()
                    finally:
                        lib.kill_all()
                except KeyboardInterrupt:
                    raise
                except BaseException as e:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    failed += 1
                    print("FAIL %s: %s (%.1fs)" % (full, reason_of(e),
                                                   time.monotonic() - t0),
                          flush=True)
                    tb = traceback.format_exc()
                    print("".join("    " + line + "\n"
                                  for line in tb.rstrip().splitlines()),
                          end="", flush=True)
                else:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    passed += 1
                    print("ok   %s (%.1fs)" % (full, time.monotonic() - t0),
                          flush=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        lib.kill_all()
        lib.drop_dbs()
    if passed + failed == 0:
        print("warning: no test matched %s" % " ".join(filters), flush=True)
    print("# total %.1fs" % (time.monotonic() - t_start), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

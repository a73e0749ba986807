#!/usr/bin/env python3
"""Compare CPython's logging.Formatter.format with errlog's Formatter.

Both format the same record with the same template (errlog.DefaultFormat,
Flask's recommended file format): a WARNING "disk almost full" with a
pathname and line number, time included. CPython is timed with timeit;
errlog with BenchmarkFormatter (go test -bench) from the repository root.

    python3 bench/pyformat.py
"""

import logging
import os
import re
import subprocess
import sys
import time
import timeit

FORMAT = "%(asctime)s %(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_ns_per_record():
    formatter = logging.Formatter(FORMAT)
    record = logging.LogRecord(
        name="root",
        level=logging.WARNING,
        pathname=os.path.join(ROOT, "formatter_test.go"),
        lineno=42,
        msg="disk almost full",
        args=None,
        exc_info=None,
        func="BenchmarkFormatter",
    )
    record.created = time.time()
    formatter.format(record)  # warm up
    timer = timeit.Timer(lambda: formatter.format(record))
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=5, number=number))
    return best / number * 1e9, formatter.format(record)


def go_ns_per_record():
    cmd = ["go", "test", "-run", "^$", "-bench", "^BenchmarkFormatter$", "-benchmem", "."]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("go test failed:\n" + out.stdout + out.stderr)
    m = re.search(r"^BenchmarkFormatter\S*\s+\d+\s+([\d.]+) ns/op(.*)$", out.stdout, re.M)
    if not m:
        sys.exit("no BenchmarkFormatter result in:\n" + out.stdout)
    return float(m.group(1)), m.group(2).strip()


def main():
    py, line = python_ns_per_record()
    go, mem = go_ns_per_record()
    print("template:  %s" % FORMAT)
    print("line:      %s" % line)
    print("CPython %s logging.Formatter.format: %8.1f ns/record" % (sys.version.split()[0], py))
    print("errlog Formatter.AppendFormat:          %8.1f ns/record  (%s)" % (go, mem))
    print("ratio:                                  %8.1fx" % (py / go))


if __name__ == "__main__":
    main()

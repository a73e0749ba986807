"""Records python3-sentry-sdk events for the grouping corpus (see
../README.md): /usr/bin/python3 python.py, with capture.py listening on
127.0.0.1:18777."""
import logging

import sentry_sdk

sentry_sdk.init("http://public@127.0.0.1:18777/1", attach_stacktrace=True, default_integrations=True)
log = logging.getLogger("shop.billing")


def labelled(label, f, *args):
    with sentry_sdk.push_scope() as scope:
        scope.set_tag("label", label)
        f(*args)


def charge(order):
    log.error("charge failed for order %s", order)


def ship(order):
    log.error("shipping label failed for order %s", order)


def quota_a():
    sentry_sdk.capture_message("quota exceeded")


def quota_b():
    sentry_sdk.capture_message("quota exceeded")


def load(path):
    try:
        open(path).read()
    except OSError:
        sentry_sdk.capture_exception()


def parse(raw):
    try:
        int(raw)
    except ValueError:
        log.exception("bad count %r", raw)


for order in (1001, 2002):
    labelled("py-charge--%d" % order, charge, order)
    labelled("py-ship--%d" % order, ship, order)
labelled("py-quota-a--1", quota_a)
labelled("py-quota-b--1", quota_b)
for path in ("/nonexistent/a.conf", "/nonexistent/b-2024-05-01.conf"):
    labelled("py-load--" + path[-6:], load, path)
for raw in ("12a", "x"):
    labelled("py-parse--" + raw, parse, raw)
sentry_sdk.flush()


# Cases grouping 2 gets wrong (added after the cases above, which keep
# their lines).


def report(msg):
    log.error("%s", msg)


def open_upload(path):
    log.error(f"cannot open {path}")


def release(order):
    sentry_sdk.capture_message("lock on order_%s expired" % order)


def walk(node, depth):
    if depth == 0:
        return node["children"]
    return walk(node, depth - 1)


def index(depth):
    try:
        walk({}, depth)
    except KeyError:
        sentry_sdk.capture_exception()


# Two failures logged through one "%s": two groups, each with other ids.
for order in (1234, 5678):
    for label, what in (("py-gateway-refused", "payment gateway refused card"), ("py-inventory-lock", "inventory sync lost its lock")):
        labelled("%s--%d" % (label, order), report, "%s for order %d" % (what, order))
# A message built before logging, naming a temporary file: one group.
for n in (3829473622, 1170293845):
    labelled("py-upload-open--%d" % n, open_upload, "/tmp/upload_%d" % n)
# An order's UUID glued to "order_": one group.
for order in ("3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d", "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"):
    labelled("py-order-lock--" + order[:8], release, order)
# A recursive function failing at another depth each time: one group.
for depth in (3, 7):
    labelled("py-walk-depth--%d" % depth, index, depth)
sentry_sdk.flush()

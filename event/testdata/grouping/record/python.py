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

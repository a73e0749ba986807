// Records @sentry/browser events for the grouping corpus (see
// ../README.md): bundled with esbuild --bundle --format=iife into a page
// served from another loopback port than capture.py, loaded in headless
// Chromium.
import * as Sentry from "@sentry/browser";

Sentry.init({ dsn: "http://public@127.0.0.1:18777/1", attachStacktrace: true });

function label(l, f) {
  Sentry.withScope((scope) => {
    scope.setTag("label", l);
    f();
  });
}

function spacer(i) {
  label("spacer", () => Sentry.captureMessage("spacer " + i));
}

// One anonymous callback's TypeError, with two values: one group; another
// anonymous callback's: another group.
[{ a: 1 }, { b: 2 }].forEach((o, i) => {
  label("br-missing-config--" + i, () => {
    try {
      o.config.load();
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer(i);
});
[7, 8].forEach((n) => {
  label("br-bad-index--" + n, () => {
    try {
      null[n].x = 1;
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer(n);
});
// A message with an id, from one line: one group.
for (const id of [381, 9920]) {
  label("br-cart-stale--" + id, () => Sentry.captureMessage("cart " + id + " is stale"));
  spacer(id);
}
Sentry.flush(5000).then(() => {
  document.title = "done";
});

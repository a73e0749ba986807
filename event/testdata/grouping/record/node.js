// Records @sentry/node events for the grouping corpus (see ../README.md):
// node node.js, with capture.py listening on 127.0.0.1:18777.
const Sentry = require("@sentry/node");

Sentry.init({ dsn: "http://public@127.0.0.1:18777/1", attachStacktrace: true, tracesSampleRate: 0 });

function label(l, f) {
  Sentry.withScope((scope) => {
    scope.setTag("label", l);
    f();
  });
}

// Dedupe drops an event equal to the one before: an unrelated one goes
// between repeats.
function spacer(i) {
  label("spacer", () => Sentry.captureMessage("spacer " + i));
}

// Two messages from module top level: two groups.
label("node-top-cache--1", () => Sentry.captureMessage("cache warmed with stale data"));
label("node-top-config--1", () => Sentry.captureMessage("config reload failed"));

// One message with ids and durations, from one line: one group.
for (const [id, ms] of [[1042, 350], [77, 12]]) {
  label("node-job-slow--" + id, () => Sentry.captureMessage(`job ${id} took ${ms}ms on 10.0.3.${id % 200}`));
  spacer(id);
}

// Two anonymous callbacks in one file throw RangeErrors: two groups; each
// thrown twice with other values: the same group.
[3, 9].forEach((n) => {
  label("node-range-offset--" + n, () => {
    try {
      throw new RangeError("offset " + n + " is out of range");
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer(n);
});
["ab", "abcdef"].forEach(function (s) {
  label("node-range-length--" + s.length, () => {
    try {
      throw new RangeError("invalid length " + s.length);
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer(s);
});

// A named function's TypeError, twice: one group.
function parseUser(raw) {
  return raw.name.trim();
}
for (const id of ["u-1", "u-2"]) {
  label("node-parse-user--" + id, () => {
    try {
      parseUser({ id });
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer(id);
}

// Cases grouping 2 gets wrong (added after the cases above, which keep
// their lines).

// A message naming an upload by an id glued to its name with "_", from
// one line: one group.
for (const n of [3829473622, 1170293845]) {
  label("node-upload-stuck--" + n, () => Sentry.captureMessage(`upload_${n} stuck in queue`));
  spacer("upload" + n);
}

// A cache key with the id glued to a word, from one line: one group.
for (const id of [48213377, 90311245]) {
  label("node-cache-key--" + id, () => Sentry.captureMessage(`cache miss for key user${id}`));
  spacer("key" + id);
}

// A recursive function failing at another depth each time: one group.
// V8 keeps 10 frames of a stack by default, which would cut the deeper
// one's outer frames: here it keeps 50.
function walk(node, depth) {
  if (depth === 0) {
    return node.children.length;
  }
  return walk(node, depth - 1);
}
const stackTraceLimit = Error.stackTraceLimit;
Error.stackTraceLimit = 50;
for (const depth of [3, 7]) {
  label("node-walk-depth--" + depth, () => {
    try {
      walk({}, depth);
    } catch (e) {
      Sentry.captureException(e);
    }
  });
  spacer("walk" + depth);
}
Error.stackTraceLimit = stackTraceLimit;

Sentry.flush(5000).then(() => process.exit(0));

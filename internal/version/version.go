// Package version holds errlog's release, errlog.Version, for the
// packages that send it (the tracker's User-Agent and SDK, mail's
// X-Mailer) without importing errlog.
package version

// Version is errlog's version. It equals the newest release in
// CHANGELOG.md (a test checks errlog.Version, which is this).
const Version = "0.1.0"

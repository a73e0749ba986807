// Package decode is the server's half of the Sentry ingestion protocol:
// it reads what errlog's client and the stock Sentry SDKs send, leniently
// where they differ from the schema and from each other.
//
//   - AuthFromRequest and ParseAuth read a request's X-Sentry-Auth,
//     "Authorization: Sentry …" or query authentication.
//   - Body decompresses a request body (gzip, deflate, identity) within a
//     limit before and after decompression.
//   - Envelope parses an envelope: items with or without a length.
//     Events, ItemEvent and ItemClientReport decode its items.
//   - Event decodes one event: a flat exception list or {"values": …},
//     numeric or zone-less timestamps, cookies as one header string,
//     headers and tags as [key, value] pairs, the legacy "message", bare
//     breadcrumb lists.
//
// errlogd imports it; errlog's client packages never do (their tests may),
// so that programs using errlog do not compile it. event.Event's own
// UnmarshalJSON reads only what its MarshalJSON writes.
package decode

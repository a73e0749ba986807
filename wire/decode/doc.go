// Package decode is the server's half of the Sentry ingestion protocol:
// it reads what errlog's client and the stock Sentry SDKs send, leniently
// where they differ from the schema and from each other. errlogd's ingest
// reads every request with it.
//
//   - AuthFromRequest and ParseAuth read a request's X-Sentry-Auth,
//     "Authorization: Sentry …" or query authentication.
//   - Decompress and Limit open a request body as a stream (gzip,
//     deflate, identity, and codecs the caller adds), bounded after
//     decompression; Body reads a small one whole.
//   - Reader reads an envelope as a stream, item by item, holding only
//     the payloads asked for; Envelope reads one held in memory, and
//     Events and ItemClientReport decode its items.
//   - Event decodes one event, Summary only what grouping and the lists
//     need, in one pass over the validated bytes: a flat exception list
//     or {"values": …}, numeric or zone-less timestamps, cookies as one
//     header string, headers and tags as [key, value] pairs, the legacy
//     "message", bare breadcrumb lists, a message's stack in its threads.
//
// errlogd imports it; errlog's client packages never do (their tests may),
// so that programs using errlog do not compile it. event.Event's own
// UnmarshalJSON reads only what its MarshalJSON writes.
package decode

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// generator makes events shaped like the ones sentry-go sends from a Go
// web service, for the load generator.
type generator struct {
	rng *rand.Rand
	n   int
}

func newGenerator(rng *rand.Rand, groups int) *generator { return &generator{rng: rng, n: groups} }

// template is one envelope with fixed-width placeholders for the event id
// and the timestamps, overwritten for each send.
type template struct {
	json     []byte // the event payload
	envelope []byte
	idAt     []int // offsets of 32-byte event id placeholders
	tsAt     []int // offsets of 27-byte timestamp placeholders
	parts    []part
}

const (
	idHole = "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"
	tsHole = "TTTTTTTTTTTTTTTTTTTTTTTTTTT"
)

// compressed cuts the envelope at its placeholders and gzips each static
// part once: a send then only gzips the id and timestamps (as stored
// blocks) and concatenates the members, which a gzip reader reads as one
// stream (RFC 1952 allows several members). The load generator so
// costs a few microseconds per event, and leaves the CPU to the server;
// the bytes errlogd decompresses are the same as one member's.
func (t *template) compress() {
	type cut struct {
		at  int
		dyn byte // 'i' or 't'
	}
	var cuts []cut
	for _, at := range t.idAt {
		cuts = append(cuts, cut{at, 'i'})
	}
	for _, at := range t.tsAt {
		cuts = append(cuts, cut{at, 't'})
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].at < cuts[j].at })
	prev := 0
	for _, c := range cuts {
		t.parts = append(t.parts, part{gz: gzipBytes(t.envelope[prev:c.at], gzip.DefaultCompression)}, part{dyn: c.dyn})
		prev = c.at + map[byte]int{'i': len(idHole), 't': len(tsHole)}[c.dyn]
	}
	t.parts = append(t.parts, part{gz: gzipBytes(t.envelope[prev:], gzip.DefaultCompression)})
}

type part struct {
	gz  []byte
	dyn byte
}

func gzipBytes(b []byte, level int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// body appends the gzip body of one send to dst.
func (t *template) body(dst *bytes.Buffer, id, ts string) {
	for _, p := range t.parts {
		switch p.dyn {
		case 0:
			dst.Write(p.gz)
		case 'i':
			storedMember(dst, id)
		case 't':
			storedMember(dst, ts)
		}
	}
}

// storedMember writes s as a gzip member of one stored (uncompressed)
// deflate block, by hand: RFC 1952 header, RFC 1951 stored block, CRC-32
// and size.
func storedMember(dst *bytes.Buffer, s string) {
	n := len(s)
	dst.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
	dst.Write([]byte{1, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)})
	dst.WriteString(s)
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], crc32.ChecksumIEEE([]byte(s)))
	binary.LittleEndian.PutUint32(tail[4:], uint32(n))
	dst.Write(tail[:])
}

func (t *template) render(id, ts string) []byte {
	out := make([]byte, len(t.envelope))
	copy(out, t.envelope)
	for _, at := range t.idAt {
		copy(out[at:], id)
	}
	for _, at := range t.tsAt {
		copy(out[at:], ts)
	}
	return out
}

var (
	errTypes = []string{"*pq.Error", "*url.Error", "*errors.errorString", "*fs.PathError", "*json.SyntaxError",
		"*net.OpError", "context.deadlineExceededError", "*strconv.NumError", "*shop.ValidationError", "*redis.Error"}
	appPkgs = []string{"orders", "payments", "catalog", "users", "cart", "shipping", "search", "auth", "inventory", "notify"}
	appFns  = []string{"Create", "Update", "Delete", "Get", "List", "Charge", "Refund", "Validate", "Sync", "Import",
		"Export", "Render", "Load", "Save", "Notify", "Resolve", "Lookup", "Reserve", "Release", "Checkout"}
	libs = []struct{ mod, file, fn string }{
		{"github.com/go-chi/chi/v5", "mux.go", "(*Mux).ServeHTTP"},
		{"github.com/go-chi/chi/v5/middleware", "recoverer.go", "Recoverer.func1"},
		{"github.com/go-chi/chi/v5/middleware", "logger.go", "RequestLogger.func1.1"},
		{"github.com/jackc/pgx/v5", "conn.go", "(*Conn).Exec"},
		{"github.com/jackc/pgx/v5/pgxpool", "pool.go", "(*Pool).Exec"},
		{"github.com/redis/go-redis/v9", "redis.go", "(*baseClient).process"},
		{"google.golang.org/grpc", "call.go", "(*ClientConn).Invoke"},
	}
	words = strings.Fields("order user cart item price stock warehouse invoice coupon refund shipment address token session query cache retry timeout upstream payload")
)

func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.Intn(16)]
	}
	return string(b)
}

func (g *generator) sentence(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[g.rng.Intn(len(words))]
		if g.rng.Intn(4) == 0 {
			parts[i] += "=" + strconv.Itoa(g.rng.Intn(100000))
		}
	}
	return strings.Join(parts, " ")
}

func (g *generator) frames(group int, big bool) []map[string]any {
	pkg := appPkgs[group%len(appPkgs)]
	fn := appFns[(group/len(appPkgs))%len(appFns)]
	var frames []map[string]any
	add := func(f map[string]any) { frames = append(frames, f) }
	add(map[string]any{"function": "goexit", "module": "runtime", "abs_path": "/usr/local/go/src/runtime/asm_amd64.s", "lineno": 1700, "in_app": false})
	add(map[string]any{"function": "(*conn).serve", "module": "net/http", "abs_path": "/usr/local/go/src/net/http/server.go", "lineno": 2092, "in_app": false})
	add(map[string]any{"function": "serverHandler.ServeHTTP", "module": "net/http", "abs_path": "/usr/local/go/src/net/http/server.go", "lineno": 3210, "in_app": false})
	nlib := 3
	if big {
		nlib = 12
	}
	for i := 0; i < nlib; i++ {
		l := libs[(group+i)%len(libs)]
		ver := "v5.0.12"
		// sentry-go marks module-cache frames in-app: errlogd corrects it.
		add(map[string]any{"function": l.fn, "module": l.mod, "filename": l.file, "abs_path": "/root/go/pkg/mod/" + l.mod + "@" + ver + "/" + l.file, "lineno": 40 + g.rng.Intn(400), "in_app": true})
	}
	napp := 3
	if big {
		napp = 8
	}
	for i := 0; i < napp; i++ {
		f := map[string]any{
			"function": fmt.Sprintf("(*%sService).%s%s", strings.ToUpper(pkg[:1])+pkg[1:], fn, []string{"", "Tx", "Once", "Batch", "Locked", "Step", "Inner", "Do"}[i]),
			"module":   "github.com/acme/shop/internal/" + pkg,
			"filename": pkg + "/" + strings.ToLower(fn) + ".go",
			"abs_path": "/app/internal/" + pkg + "/" + strings.ToLower(fn) + ".go",
			"lineno":   20 + i*17,
			"in_app":   true,
		}
		if big {
			f["pre_context"] = []string{"\tctx, span := tracer.Start(ctx, \"" + fn + "\")", "\tdefer span.End()", "\tif err := s.validate(req); err != nil {", "\t\treturn nil, fmt.Errorf(\"validate: %w\", err)", "\t}"}
			f["context_line"] = "\trow, err := s.db.Exec(ctx, query" + strconv.Itoa(i) + ", req.ID, req.Amount)"
			f["post_context"] = []string{"\tif err != nil {", "\t\treturn nil, fmt.Errorf(\"" + strings.ToLower(fn) + ": %w\", err)", "\t}", "\ts.metrics.Inc(\"" + pkg + "\")", "\treturn row, nil"}
		}
		add(f)
	}
	return frames
}

func (g *generator) event(group int, size int) template {
	big := size >= 12000
	typ := errTypes[group%len(errTypes)]
	exc := []map[string]any{{
		"type":       typ,
		"value":      fmt.Sprintf("%s: %s (id %d)", appFns[group%len(appFns)], g.sentence(4), g.rng.Intn(1e6)),
		"module":     "github.com/acme/shop/internal/" + appPkgs[group%len(appPkgs)],
		"stacktrace": map[string]any{"frames": g.frames(group, big)},
		"mechanism":  map[string]any{"type": "generic", "handled": true},
	}}
	if big {
		exc = append([]map[string]any{{"type": "*errors.errorString", "value": "connection reset by peer"}}, exc...)
	}
	nmods := 12
	if big {
		nmods = 60
	}
	modules := map[string]string{}
	for i := 0; i < nmods; i++ {
		modules[fmt.Sprintf("github.com/%s/%s%d", words[i%len(words)], words[(i*7)%len(words)], i)] = fmt.Sprintf("v%d.%d.%d", i%3, i%17, i%9)
	}
	headers := map[string]string{
		"Accept": "application/json", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
		"X-Request-Id": g.hex(16), "Content-Type": "application/json", "Accept-Language": "en-GB,en;q=0.9",
		"X-Forwarded-For": fmt.Sprintf("10.%d.%d.%d", g.rng.Intn(255), g.rng.Intn(255), g.rng.Intn(255)),
	}
	ev := map[string]any{
		"event_id":    idHole,
		"timestamp":   tsHole,
		"level":       "error",
		"platform":    "go",
		"logger":      "shop",
		"server_name": "web-" + strconv.Itoa(g.rng.Intn(8)),
		"environment": []string{"production", "staging"}[g.rng.Intn(2)],
		"release":     fmt.Sprintf("shop@1.4.%d", g.rng.Intn(20)),
		"exception":   exc,
		"request": map[string]any{
			"url":          fmt.Sprintf("https://shop.example.com/api/%s/%d", appPkgs[group%len(appPkgs)], g.rng.Intn(1e6)),
			"method":       []string{"GET", "POST", "PUT"}[g.rng.Intn(3)],
			"query_string": fmt.Sprintf("page=%d&sort=%s", g.rng.Intn(50), words[g.rng.Intn(len(words))]),
			"headers":      headers,
			"data":         fmt.Sprintf(`{"id":%d,"amount":%d.%02d,"note":%q}`, g.rng.Intn(1e6), g.rng.Intn(1000), g.rng.Intn(100), g.sentence(5)),
		},
		"contexts": map[string]any{
			"os":      map[string]any{"name": "linux"},
			"runtime": map[string]any{"name": "go", "version": "go1.26.0", "go_numroutines": g.rng.Intn(400), "go_maxprocs": 2},
			"device":  map[string]any{"arch": "amd64", "num_cpu": 2},
			"trace":   map[string]any{"trace_id": g.hex(32), "span_id": g.hex(16)},
		},
		"tags":    map[string]string{"region": []string{"eu", "us", "ap"}[g.rng.Intn(3)], "tenant": "t" + strconv.Itoa(g.rng.Intn(50))},
		"user":    map[string]any{"id": strconv.Itoa(g.rng.Intn(1e5)), "ip_address": fmt.Sprintf("192.0.2.%d", g.rng.Intn(255))},
		"extra":   map[string]any{"attempt": g.rng.Intn(5), "cart_items": g.rng.Intn(30), "note": g.sentence(6)},
		"modules": modules,
		"sdk":     map[string]any{"name": "sentry.go", "version": "0.50.0", "integrations": []string{"ContextifyFrames", "Environment", "Modules", "IgnoreErrors"}},
	}
	body, _ := json.Marshal(ev)
	// Breadcrumbs fill the event to its size, as a busy request's do.
	var crumbs []map[string]any
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	est := len(body) + 30
	for est < size-100 {
		c := map[string]any{
			"timestamp": ts.Add(time.Duration(len(crumbs)) * time.Millisecond * 37).Format(time.RFC3339Nano),
			"level":     "info",
		}
		switch g.rng.Intn(3) {
		case 0:
			c["category"], c["type"] = "http", "http"
			c["data"] = map[string]any{"url": fmt.Sprintf("https://api.example.net/v2/%s/%d", words[g.rng.Intn(len(words))], g.rng.Intn(1e6)), "method": "GET", "status_code": []int{200, 200, 201, 404, 500}[g.rng.Intn(5)]}
		case 1:
			c["category"], c["message"] = "query", fmt.Sprintf("SELECT id, %s, %s FROM %ss WHERE id = $1 AND tenant = $2 -- %d", words[g.rng.Intn(len(words))], words[g.rng.Intn(len(words))], words[g.rng.Intn(len(words))], g.rng.Intn(1e6))
		default:
			c["category"], c["message"] = "log", g.sentence(8+g.rng.Intn(10))
		}
		cb, _ := json.Marshal(c)
		est += len(cb) + 1
		crumbs = append(crumbs, c)
	}
	if len(crumbs) > 0 {
		ev["breadcrumbs"] = map[string]any{"values": crumbs}
	}
	// The id and timestamp, which vary per send, go last: the rest is one
	// gzip member, compressed as an SDK's whole body is (compress).
	delete(ev, "event_id")
	delete(ev, "timestamp")
	body, _ = json.Marshal(ev)
	body = append(body[:len(body)-1], `,"event_id":"`+idHole+`","timestamp":"`+tsHole+`"}`...)

	var env bytes.Buffer
	env.WriteString(`{"event_id":"` + idHole + `","sent_at":"` + tsHole + `","sdk":{"name":"sentry.go","version":"0.50.0"}}` + "\n")
	env.WriteString(`{"type":"event","length":` + strconv.Itoa(len(body)) + "}\n")
	off := env.Len()
	env.Write(body)
	env.WriteByte('\n')
	t := template{json: body, envelope: env.Bytes()}
	t.idAt = append(t.idAt, len(`{"event_id":"`))
	t.tsAt = append(t.tsAt, len(`{"event_id":"`+idHole+`","sent_at":"`))
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(idHole))
		if j < 0 {
			break
		}
		t.idAt = append(t.idAt, off+i+j)
		i += j + 1
	}
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(tsHole))
		if j < 0 {
			break
		}
		t.tsAt = append(t.tsAt, off+i+j)
		i += j + 1
	}
	t.compress()
	return t
}

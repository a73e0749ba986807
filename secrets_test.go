package errlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// A secret shape makes the i-th secret of its kind: the value planted and
// the part of it that must never leave the process.
type secretShape struct {
	name string
	make func(i int) (value, needle string)
}

func luhnComplete(prefix string) string {
	for d := 0; d < 10; d++ {
		s := prefix + strconv.Itoa(d)
		b := []byte(s)
		if luhn(b) {
			return s
		}
	}
	panic("unreachable")
}

var secretShapes = []secretShape{
	{"visa card, grouped", func(i int) (string, string) {
		n := luhnComplete(fmt.Sprintf("4%014d", 123456789+i*7919))
		g := n[:4] + " " + n[4:8] + " " + n[8:12] + " " + n[12:]
		return g, n[8:12] + " " + n[12:]
	}},
	{"mastercard, dashes", func(i int) (string, string) {
		n := luhnComplete(fmt.Sprintf("54%013d", 424242420+i*104729))
		g := n[:4] + "-" + n[4:8] + "-" + n[8:12] + "-" + n[12:]
		return g, n[8:12] + "-" + n[12:]
	}},
	{"amex, plain", func(i int) (string, string) {
		n := luhnComplete(fmt.Sprintf("37%012d", 828224631+i*31))
		return n, n[6:]
	}},
	{"JWT", func(i int) (string, string) {
		payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"planted-%d"}`, i)))
		sig := fmt.Sprintf("SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw%d", i)
		return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + payload + "." + sig, sig
	}},
	{"bearer token", func(i int) (string, string) {
		tok := fmt.Sprintf("tok%08dQzX7hPlanted", i)
		return "Bearer " + tok, tok
	}},
	{"AWS access key", func(i int) (string, string) {
		k := fmt.Sprintf("AKIAPLANTED%09d", i)
		return k, k
	}},
	{"PEM private key", func(i int) (string, string) {
		body := fmt.Sprintf("MIIEpAIBAAKCAQEAplantedKeyBody%d", i)
		return "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\nAbCdEf0123456789==\n-----END RSA PRIVATE KEY-----", body
	}},
	{"URL with a password", func(i int) (string, string) {
		pw := fmt.Sprintf("Pg-planted-pw-%d", i)
		return "postgres://app:" + pw + "@db.internal:5432/shop", pw
	}},
	{"basic credentials", func(i int) (string, string) {
		c := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("app:planted-basic-%d", i)))
		return "Basic " + c, c
	}},
	{"GitHub token", func(i int) (string, string) {
		tail := fmt.Sprintf("Pl4nted%029d", i)
		return "ghp_" + tail, tail
	}},
	{"Slack bot token", func(i int) (string, string) {
		tail := fmt.Sprintf("2234567890-%013d-PlantedSlackToken", i)
		return "xoxb-" + tail, tail
	}},
	{"Stripe secret key", func(i int) (string, string) {
		tail := fmt.Sprintf("Pl4ntedStripe%011d", i)
		return "sk_live_" + tail, tail
	}},
	{"Google API key", func(i int) (string, string) {
		k := fmt.Sprintf("AIzaSyPlantedGoogleKey-%016d", i)
		return k, k
	}},
	{"DSN with a secret key", func(i int) (string, string) {
		pw := fmt.Sprintf("dsnSecret%dX", i)
		return "https://public:" + pw + "@errors.example/42", pw
	}},
	{"mysqldump command line", func(i int) (string, string) {
		pw := fmt.Sprintf("My%dPlanted!pw", i)
		return "mysqldump -h db -uapp -p" + pw + " shop: exit status 2", pw
	}},
	{"curl credentials", func(i int) (string, string) {
		pw := fmt.Sprintf("curl-planted-%d", i)
		return "curl -fsS -u admin:" + pw + " https://example.com/x", pw
	}},
	{"password flag", func(i int) (string, string) {
		pw := fmt.Sprintf("flag-planted-%d", i)
		return "vault login --password " + pw + " -method=userpass", pw
	}},
	{"token flag, a value starting with '-'", func(i int) (string, string) {
		tok := fmt.Sprintf("-Yx9_planted%dQ", i)
		return "deploy -token " + tok + " -v", tok
	}},
	{"htpasswd batch", func(i int) (string, string) {
		pw := fmt.Sprintf("ht-planted-%d", i)
		return "htpasswd -bB /etc/nginx/.htpasswd ann " + pw + ": exit status 1", pw
	}},
}

// secretsWithKeys are planted where only their key or their Go field
// names them (no shape): the first release's masking leaks.
type paymentCard struct {
	Holder   string
	CardCVV  string
	Password string `json:"p"`
}

type connSettings struct {
	URL  *url.URL
	User *url.Userinfo
}

// allSinks captures what the console, the file, mail and the tracker
// received.
type allSinks struct {
	console *syncBuffer
	file    string
	mailDir string
	mu      sync.Mutex
	tracker [][]byte
}

// newAllSinks makes a console buffer, a log file and a mail folder in a
// test directory, and a tracker server recording each body it receives,
// for allSinks to read; it returns the tracker's DSN too.
func newAllSinks(t *testing.T) (sinks *allSinks, dir, dsn string) {
	t.Helper()
	sinks = &allSinks{console: &syncBuffer{}}
	dir = t.TempDir()
	sinks.file = filepath.Join(dir, "app.log")
	sinks.mailDir = filepath.Join(dir, "mail")
	trk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decode.Body(r.Body, r.Header.Get("Content-Encoding"), 10<<20)
		if err != nil {
			t.Errorf("tracker body: %v", err)
			return
		}
		sinks.mu.Lock()
		sinks.tracker = append(sinks.tracker, body)
		sinks.mu.Unlock()
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(trk.Close)
	return sinks, dir, strings.Replace(trk.URL, "http://", "http://k@", 1) + "/1"
}

func (a *allSinks) texts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"console": a.console.String()}
	b, err := os.ReadFile(a.file)
	require.NoError(t, err)
	out["file"] = string(b)
	mails, _ := filepath.Glob(filepath.Join(a.mailDir, "*.eml"))
	require.NotEmpty(t, mails, "mail was sent")
	var mb strings.Builder
	for _, p := range mails {
		mb.WriteString(decodedMail(t, p))
	}
	out["mail"] = mb.String()
	a.mu.Lock()
	out["tracker"] = string(bytes.Join(a.tracker, []byte("\n")))
	a.mu.Unlock()
	return out
}

// decodedMail is a mail's headers and every part's decoded text, as a
// reader's mail client shows them.
func decodedMail(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	require.NoError(t, err)
	var sb strings.Builder
	dec := new(mime.WordDecoder)
	for k, vs := range msg.Header {
		for _, v := range vs {
			d, err := dec.DecodeHeader(v)
			if err != nil {
				d = v
			}
			fmt.Fprintf(&sb, "%s: %s\n", k, d)
		}
	}
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, _ := mime.ParseMediaType(get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, _ := io.ReadAll(body)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	walk(msg.Header, msg.Body)
	return sb.String()
}

// TestPlantedSecretsNeverLeave plants secrets in every place a value can
// be — attrs, groups, structs, maps, slices, errors' text, the message,
// request bodies (JSON, form, text), the query, headers, cookies, scope
// extras, the user, breadcrumbs and source lines — under keys that name
// no secret, and checks that none reaches the console, the file, mail or
// the tracker. Secrets are recognised by their shape (card numbers, PEM
// keys, JWTs, bearer tokens, AWS keys, URL passwords), and by the name of
// the key, Go field or JSON field that holds them.
func TestPlantedSecretsNeverLeave(t *testing.T) {
	sinks, _, dsn := newAllSinks(t)
	h := NewHandler(Options{
		Console:         sinks.console,
		NoColor:         true,
		File:            &logfile.Options{Path: sinks.file},
		Mail:            &MailOptions{Dir: sinks.mailDir},
		Throttle:        ThrottleOptions{MaxPerHour: -1},
		Tracker:         &tracker.Options{DSN: dsn},
		OnDeliveryError: func(err error) { t.Logf("delivery error: %v", err) },
		SourceContext:   SourceOn,
	})
	defer h.Close(context.Background())
	logger := slog.New(h)

	var needles []string // what must not leave, with where it was planted
	where := map[string]string{}
	plant := func(place, needle string) {
		needles = append(needles, needle)
		where[needle] = place
	}

	// Per shape, three requests (a JSON, a form and a text body), each
	// logging one error with the shape planted in every other place too.
	n := 0
	for si, shape := range secretShapes {
		for bi, kind := range []string{"json", "form", "text"} {
			next := func(place string) string {
				n++
				v, needle := shape.make(n)
				plant(shape.name+" in "+place+" ("+kind+" request)", needle)
				return v
			}
			var body io.Reader
			var ctype string
			switch kind {
			case "json":
				b, _ := json.Marshal(map[string]any{"note": next("JSON body"), "items": []any{map[string]any{"memo": next("JSON body, nested")}}})
				body, ctype = bytes.NewReader(b), "application/json"
			case "form":
				body, ctype = strings.NewReader(url.Values{"note": {next("form body")}}.Encode()), "application/x-www-form-urlencoded"
			case "text":
				body, ctype = strings.NewReader("free text: "+next("text body")), "text/plain"
			}
			q := url.Values{"ref": {next("query")}}.Encode()
			hdr, cookie := next("header"), next("cookie")
			attrStr, group, strct, mp, slice := next("attr"), next("group"), next("struct field"), next("map"), next("slice")
			errText, msg, extra, user, crumb := next("error text"), next("message"), next("scope extra"), next("user data"), next("breadcrumb")
			userName := next("user name")

			mux := http.NewServeMux()
			mux.HandleFunc("/pay", func(w http.ResponseWriter, r *http.Request) {
				ctx, scope := WithScope(r.Context())
				scope.SetExtra("note", extra)
				scope.SetUser(event.User{ID: strconv.Itoa(si*10 + bi), Username: userName, Data: map[string]any{"note": user}})
				logger.InfoContext(ctx, "step done", "detail", crumb)
				logger.ErrorContext(ctx, "payment failed "+msg,
					"ref", attrStr,
					slog.Group("payment", slog.String("memo", group)),
					"order", struct{ Note string }{strct},
					"meta", map[string]any{"memo": mp},
					"lines", []string{"ok", slice},
					"err", fmt.Errorf("charge declined for %s", errText),
				)
				w.WriteHeader(http.StatusPaymentRequired)
			})
			srv := httptest.NewServer(h.Middleware(mux))
			req, _ := http.NewRequest("POST", srv.URL+"/pay?"+q, body)
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("X-Note", strings.ReplaceAll(hdr, "\n", " ")) // a header has one line
			req.AddCookie(&http.Cookie{Name: "pref", Value: url.QueryEscape(cookie)})
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			srv.Close()
		}
	}

	// Secrets only their names tell: a Go field whose JSON tag hides it,
	// a CVV, JSON in bytes, name/value pairs, URLs and user info. Each
	// value is made at run time, so that these lines, which are sent as
	// source context, do not hold it.
	secret := func(place, name string) string {
		v := name + "-" + strconv.Itoa(913)
		plant(place, v)
		return v
	}
	u, _ := url.Parse("mysql://root:" + secret("*url.URL value", "url-value") + "@db/app")
	userinfo := url.UserPassword("root", secret("url.Userinfo", "userinfo"))
	tagged, cvv := secret("struct field Password tagged p", "tagged-field"), secret("struct field CardCVV", "cvv")
	raw := []byte(`{"user":"ann","password":"` + secret("[]byte JSON", "bytes-json") + `"}`)
	pair := secret("name/value pair", "pair-value")
	manifest := `{"env":[{"name":"API_SECRET","value":"` + secret("name/value pair in a string", "pair-string") + `"}]}`
	logger.Error("settings rejected",
		"conn", connSettings{URL: u, User: userinfo},
		"card", paymentCard{Holder: "Ann", CardCVV: cvv, Password: tagged},
		"raw", raw,
		"env", []map[string]string{{"name": "DB_PASSWORD", "value": pair}, {"name": "REGION", "value": "eu"}},
		"manifest", manifest,
	)
	// Source lines: the line below and its neighbours are sent as context;
	// the needles are the shaped secrets of its comment.
	plant("source line", "AKIASOURCELINE"+"000042")
	plant("source line", "sourceLine"+"Pw42")
	logger.Error("source context") // AKIASOURCELINE000042 postgres://u:sourceLinePw42@h/db

	require.GreaterOrEqual(t, len(needles), 40)
	require.NoError(t, h.Flush(context.Background()))
	got := sinks.texts(t)
	for sink, text := range got {
		require.NotEmpty(t, text, sink)
		for _, needle := range needles {
			assert.NotContains(t, text, needle, "%s: planted in %s", sink, where[needle])
		}
	}
	// The records themselves were not lost: masked, not dropped.
	assert.Contains(t, got["tracker"], "payment failed")
	assert.Contains(t, got["tracker"], "settings rejected")
	assert.Contains(t, got["tracker"], `"context_line":`, "source lines were sent, masked")
	assert.Contains(t, got["tracker"], "Ann", "the rest of a struct is kept")
	assert.Contains(t, got["tracker"], "REGION", "the other pairs are kept")
	assert.Contains(t, got["file"], "payment failed")
	assert.Contains(t, got["mail"], "payment failed")
	t.Logf("%d secrets planted, none left the process", len(needles))
}

// TestScrubShapes: each recogniser masks what it should and leaves what
// only looks alike.
func TestScrubShapes(t *testing.T) {
	m, err := newMasker(MaskOptions{})
	require.NoError(t, err)
	const w = DefaultMaskWith
	tests := []struct{ in, want string }{
		{"card 4111 1111 1111 1111 ok", "card " + w + " ok"},
		{"4111111111111111", w},
		{"5555-5555-5555-4444", w},
		{"amex 378282246310005.", "amex " + w + "."},
		{"order 4111111111111112 (bad check digit)", "order 4111111111111112 (bad check digit)"},
		{"ts 1733179200000 and id 12345678901234567890123", "ts 1733179200000 and id 12345678901234567890123"},
		{"v1.4111111111111111", "v1.4111111111111111"},
		{"key AKIAIOSFODNN7EXAMPLE here", "key " + w + " here"},
		{"XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"},
		{"Authorization: Bearer abc123def456", "Authorization: Bearer " + w},
		{"bearer authentication failed", "bearer authentication failed"},
		{"t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-1", "t=" + w},
		{"eyJhbGciOiJIUzI1NiJ9 alone", "eyJhbGciOiJIUzI1NiJ9 alone"},
		{"dial postgres://u:pw@h:5432/db: refused", "dial postgres://u:" + w + "@h:5432/db: refused"},
		{"https://user@host/x", "https://user@host/x"},
		{"https://host/a:b@c", "https://host/a:b@c"},
		{"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\nafter", w + "\nafter"},
		{"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{"-----BEGIN EC PRIVATE KEY-----\ncut", w},
		{"short", "short"},
		{"GET https://h/p?api_key=k1&page=2 failed", "GET https://h/p?api_key=" + w + "&page=2 failed"},
		{`get "https://u:pw@h/p?page=2&access_token=t1#top": EOF`, `get "https://u:` + w + `@h/p?page=2&access_token=` + w + `#top": EOF`},
		{"https://h/cb?next=https%3A%2F%2Fx%2Fy%3Ftoken%3Dt2&page=1", "https://h/cb?next=https%3A%2F%2Fx%2Fy%3Ftoken%3D" + w + "&page=1"},
		{"https://h/p?page=2&sort=name#frag and more", "https://h/p?page=2&sort=name#frag and more"},
		{"https://h/p?secret=**************", "https://h/p?secret=**************"},
		{"what? a://b c=d&token=e", "what? a://b c=d&token=e"},
		{"callback https://app/cb#access_token=t3&state=s&expires_in=60 done", "callback https://app/cb#access_token=" + w + "&state=s&expires_in=60 done"},
		{"https://h/p?page=2#id_token=t4", "https://h/p?page=2#id_token=" + w},
		{"see https://h/docs#section-2 and /a#b", "see https://h/docs#section-2 and /a#b"},
		{"Authorization: Basic dXNlcjpodW50ZXIy", "Authorization: Basic " + w},
		{"basic validation failed for 12 fields", "basic validation failed for 12 fields"},
		{"Basic Dictionary=abcdefgh", "Basic Dictionary=abcdefgh"}, // not user:password
		{"push ghp_16C7e42F292c6912E7710c838347Ae178B4a refused", "push ghp_" + w + " refused"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", "github_pat_" + w},
		{"slack xoxb-2234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx: invalid_auth", "slack xoxb-" + w + ": invalid_auth"},
		{"key sk_live_4eC39HqLyjWDarjtT1zdp7dc.", "key sk_live_" + w + "."},
		{"sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 quota", "sk-" + w + " quota"},
		{"maps AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI denied", "maps " + w + " denied"},
		{"glpat-AbCdEf0123456789xYz_ expired", "glpat-" + w + " expired"},
		// Names that start alike are no tokens: too short, or inside a word.
		{"import sk-learn-contrib and hf_home, set ghp_ prefix, my_ghp_16C7e42F292c6912E7710c838347Ae178B4a", "import sk-learn-contrib and hf_home, set ghp_ prefix, my_ghp_16C7e42F292c6912E7710c838347Ae178B4a"},
		{"function do_AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "function do_AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"},
		{"npm_config_strict_peer_dependencies=true hf_hub_download_with_progress_and_retries_enabled sk-learn-extra-preprocessing-pipelines-v2", "npm_config_strict_peer_dependencies=true hf_hub_download_with_progress_and_retries_enabled sk-learn-extra-preprocessing-pipelines-v2"},
		// Glued to an escape, as JSON-encoded or URL-encoded text has it.
		{`out=\nghp_16C7e42F292c6912E7710c838347Ae178B4a`, `out=\nghp_` + w},
		{"q=see%20AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "q=see%20" + w},
		{"header Basic YW5uOnDDpHNzd29yZA==", "header Basic " + w}, // ann:pässword
		{"GET /cb#state=s&access_token=t5 done", "GET /cb#state=s&access_token=" + w + " done"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, m.scrub(tt.in), "%q", tt.in)
		if tt.want == tt.in {
			// Nothing to mask: no allocation, s itself.
			assert.Equal(t, 0.0, testing.AllocsPerRun(10, func() { _ = m.scrub(tt.in) }), "%q", tt.in)
		}
	}
	for in, want := range map[string]string{
		"login failed: password=hunter2 user=ann": "login failed: password=" + w + " user=ann",
		`config {"secret": "s3", "port": 80}`:     `config {"secret": "` + w + `", "port": 80}`,
		"token: abc, next":                        "token: " + w + ", next",
		"dsn host=db password='x y' sslmode=off":  "dsn host=db password='" + w + "' sslmode=off",
		"passenger=ann":                           "passenger=ann",
		// Spaces around the separator.
		"password = hunter2":          "password = " + w,
		"db_pass : hunter2, retrying": "db_pass : " + w + ", retrying",
		"token     = x":               "token     = x", // too far to be its key
		// The scheme is kept and the credentials are the rest of the line.
		"Proxy-Authorization: Digest username=\"ann\", response=\"6629fae49393a05397450978507c4ef1\"\nnext": "Proxy-Authorization: Digest " + w + "\nnext",
		"authorization=Negotiate YIIabc def":                "authorization=Negotiate " + w,
		"password\t=\thunter2":                              "password\t=\t" + w,
		"Authorization: Digest\tusername=ann, response=abc": "Authorization: Digest\t" + w,
		// Prose after a key: a word that says how the secret is, or names
		// a secret, is no secret; any other next word is masked, not the
		// line.
		"auth: token expired for user bob, retry later": "auth: token expired for user bob, retry later",
		"auth: failed for user 7":                       "auth: failed for user 7",
		"checking token: OK.":                           "checking token: OK.",
		"password: none configured":                     "password: none configured",
		"retrying auth: attempt 3 of 5":                 "retrying auth: attempt 3 of 5",
		"auth: hunter2 for user bob":                    "auth: " + w + " for user bob",
		"password: Expired2":                            "password: " + w,
		"token=expired":                                 "token=expired",
		`{"password": "failed"}`:                        `{"password": "failed"}`,
		"secret: rotated-key-7":                         "secret: " + w,
	} {
		assert.Equal(t, want, m.scrubText(in), "%q", in)
	}
}

// BenchmarkMayHoldSecret is the cost every string attr pays.
func BenchmarkMayHoldSecret(b *testing.B) {
	m, err := newMasker(MaskOptions{})
	require.NoError(b, err)
	for _, s := range []string{"GET /api/orders", "user 42 logged in from 10.0.0.1 with session s-91a", strings.Repeat("lorem ipsum ", 20),
		"exec /usr/bin/app --verbose --dry-run -n 3 --config /etc/app.yaml --log-level debug: exit status 1"} {
		b.Run(strconv.Itoa(len(s)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if m.mayHoldSecret(s) {
					b.Fatal(s)
				}
			}
		})
	}
}

// TestSecretsInScopeAndCapturedText: a field renamed by its JSON tag stays
// masked when it goes through the scope (SetExtra, SetUser's data), which
// makes a tree of it when set and again when the event is built; and a
// captured error's "password=…" is masked in the message the console and
// the file print, as in the event.
func TestSecretsInScopeAndCapturedText(t *testing.T) {
	h, console, file, sink := newTestHandler(t, Options{NoColor: true})
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	pw := func(s string) string { return s + "-" + strconv.Itoa(4711) }
	ctx, scope := WithScope(context.Background())
	scope.SetExtra("payment", paymentCard{Holder: "ann", Password: pw("extra")})
	scope.SetUser(event.User{ID: "7", Data: map[string]any{"card": paymentCard{Holder: "ann", Password: pw("user")}}})
	CaptureError(ctx, fmt.Errorf("dial db: password=%s refused", pw("captured")))
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	raw, err := json.Marshal(evs[0])
	require.NoError(t, err)
	for _, needle := range []string{pw("extra"), pw("user"), pw("captured")} {
		assert.NotContains(t, string(raw), needle)
		assert.NotContains(t, console.String(), needle)
		assert.NotContains(t, file.String(), needle)
	}
	assert.Contains(t, string(raw), `"Holder":"ann"`, "the rest of the struct is kept")
	assert.Equal(t, 1, strings.Count(console.String(), "dial db: password="), "printed once:\n%s", console.String())
}

// A header that is a URL (Referer: the previous page's, query and all)
// has its query masked as the request's own query string is; it went out
// as it was, password and token included.
func TestURLHeadersQueryMasked(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{})
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "callback failed")
	}))
	req, err := http.NewRequest("GET", base+"/oauth/callback?state=1&access_token=tok-in-query", nil)
	require.NoError(t, err)
	req.Header.Set("Referer", "https://app.example.com/reset?email=ann%40example.com&password=hunter2&token=tok-in-referer#top")
	req.Header.Set("X-Original-URL", "/reset?secret=s3")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	require.Len(t, sink.all(), 1)
	r := sink.all()[0].Request
	b, err := json.Marshal(r)
	require.NoError(t, err)
	for _, s := range []string{"tok-in-query", "hunter2", "tok-in-referer", "s3"} {
		assert.NotContains(t, string(b), s)
	}
	m := strings.Repeat("*", 14) // the query's mask, as QueryString has it
	assert.Equal(t, "https://app.example.com/reset?email=ann%40example.com&password="+m+"&token="+m+"#top", r.Headers["Referer"])
	assert.Equal(t, "/reset?secret="+m, r.Headers["X-Original-Url"])
}

// TestScrubManySecrets: a long text holding many secrets of each shape is
// masked in one pass over it (one copy, not one per secret: 256 KiB of
// "password=x " took 2.8 s on the caller's goroutine), every one of them.
func TestScrubManySecrets(t *testing.T) {
	m, err := newMasker(MaskOptions{})
	require.NoError(t, err)
	for name, unit := range map[string]string{
		"key=value":      "password=x ",
		"url query":      "see https://h/?token=x ",
		"url password":   "redis://u:pw@h ",
		"card":           "4111 1111 1111 1111, ",
		"aws":            "AKIAABCDEFGHIJKLMNOP ",
		"bearer":         "Bearer abcdefgh12345678 ",
		"jwt":            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln ",
		"private key":    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- ",
		"key: value":     "token: x ",
		"quoted json":    `"secret":"x", `,
		"params and all": "https://u:pw@h/?sig=1&api_key=2&page=3 password=4 ",
		"basic":          "Basic dXNlcjpodW50ZXIy ",
		"prefixed token": "ghp_16C7e42F292c6912E7710c838347Ae178B4a ",
		"google key":     "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI ",
		"fragment":       "https://h/cb#access_token=x ",
		"spaced":         "password = x ",
		"scheme":         "Authorization: Digest u=1, r=2\n",
	} {
		n := (1 << 20) / len(unit)
		out := m.scrubText(strings.Repeat(unit, n))
		assert.Equal(t, n, strings.Count(out, DefaultMaskWith)/max(1, strings.Count(m.scrubText(unit), DefaultMaskWith)), name)
	}
	// Near misses, a MiB of each, are read once too: the test's deadline
	// is the check (each took seconds when a pass went back over the text).
	for _, unit := range []string{"basic ", "Basic abcdefgh ", "x_ghp_", "ghp_short ", "sk-", "/a#b=c", "/#", "AIza", "auth : ", "password   "} {
		s := strings.Repeat(unit, (1<<20)/len(unit))
		start := time.Now()
		_ = m.scrubText(s)
		assert.Less(t, time.Since(start), 5*time.Second, "%q", unit)
	}
}

// TestScrubNestedURLs: a URL in a query value is scrubbed once, not once
// per URL nested in it ("/?a=/?a=…" recursed once per level: 64 KiB took
// 6 s); and a query parameter without a value is left as it is, so the
// secret after it is still found ("?Bearer abc…" became "?Bearer=…" and
// the token went out).
func TestScrubNestedURLs(t *testing.T) {
	m, err := newMasker(MaskOptions{})
	require.NoError(t, err)
	for _, s := range []string{
		strings.Repeat("/?a=", 1<<18),
		strings.Repeat("h://x/?a=", 1<<17),
		"/p?n=" + strings.Repeat("%2F%3Fa%3D", 1<<16),
	} {
		assert.Equal(t, s, m.scrubText(s))
	}
	assert.Equal(t, "a="+strings.Repeat("%2F%3Fa%3D", 1<<14), m.maskQuery("a="+strings.Repeat("%2F%3Fa%3D", 1<<14)))
	for in, want := range map[string]string{
		"GET /v1/me?Bearer abcdefghijklmnop1234":           "GET /v1/me?Bearer " + DefaultMaskWith,
		"POST /oauth/token?grant_type=x&password: hunter2": "POST /oauth/token?grant_type=x&password: " + DefaultMaskWith,
		"https://h/p?client_secret: s3cr3t":                "https://h/p?client_secret: " + DefaultMaskWith,
		"next https://h/l?next=%2Fcb%3Faccess_token%3Dtok": "next https://h/l?next=%2Fcb%3Faccess_token%3D" + queryMask(DefaultMaskWith),
	} {
		assert.Equal(t, want, m.scrubText(in), in)
	}
}

// TestCredentialsDecodes checks the allocation-free base64 reader of
// maskBasic against encoding/base64 on texts of every length.
func TestCredentialsDecodes(t *testing.T) {
	texts := []string{"a:b", "user:hunter2", "nocolon", "tab\t:x", "ünï:pässword", "nl\n:x", "del\x7f:x", ":", "ab", ""}
	for n := 1; n < 40; n++ {
		texts = append(texts, strings.Repeat("x", n/2)+":"+strings.Repeat("y", n-n/2))
	}
	for _, s := range texts {
		want := strings.Contains(s, ":")
		for _, c := range []byte(s) {
			if c < ' ' && c != '\t' || c == 0x7f {
				want = false
			}
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			assert.Equal(t, want, credentials(enc.EncodeToString([]byte(s))), "%q", s)
		}
	}
	assert.False(t, credentials("abc$defg"), "not base64")
	assert.False(t, credentials("abcde"), "a length base64 cannot have")
}

// TestMaskFragmentParams: Mask.Params rules apply to a URL's fragment as to
// its query, in free text (a fragment-only URL too) and in a URL-valued
// header, whose fragment is still scanned for shapes.
func TestMaskFragmentParams(t *testing.T) {
	m, err := newMasker(MaskOptions{Params: []string{"code", "state"}})
	require.NoError(t, err)
	const w = DefaultMaskWith
	for in, want := range map[string]string{
		"/cb#code=SECRETCODE":                  "/cb#code=" + w,
		"GET /cb#state=S&code=SECRETCODE done": "GET /cb#state=" + w + "&code=" + w + " done",
		"https://h/cb?x=1#code=C&page=2":       "https://h/cb?x=1#code=" + w + "&page=2",
	} {
		assert.Equal(t, want, m.scrub(in), "%q", in)
	}
	for in, want := range map[string]string{
		"https://h/p?a=1#eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl&page=1": "https://h/p?a=1#" + w + "&page=1",
		"https://h/p?a=1&AKIAIOSFODNN7EXAMPLE#x=1&code=C":                          "https://h/p?a=1&" + w + "#x=1&code=" + w,
	} {
		assert.Equal(t, want, m.scrubHeader(in), "%q", in)
	}
}

// TestScrubCommandLines: the credentials of a command line quoted in a
// text are masked (flagmask.go), and what only looks like them is kept.
func TestScrubCommandLines(t *testing.T) {
	m, err := newMasker(MaskOptions{})
	require.NoError(t, err)
	const w = DefaultMaskWith
	tests := []struct{ in, want string }{
		{"mysqldump -h db -uapp -pS3cr3t! shop: exit status 2", "mysqldump -h db -uapp -p" + w + " shop: exit status 2"},
		{`exec "mysql" -u root -p'a b c' -e 'select 1'`, `exec "mysql" -u root -p'` + w + `' -e 'select 1'`},
		{"mariadb --user=app -pHunter2 db", "mariadb --user=app -p" + w + " db"},
		{"mysql -u app -p shop: prompting", "mysql -u app -p shop: prompting"},
		{"sshpass -p hunter2 ssh host uptime", "sshpass -p " + w + " ssh host uptime"},
		{"redis-cli -h cache -a hunter2 ping", "redis-cli -h cache -a " + w + " ping"},
		{"curl -fsS -u admin:hunter2 https://h/x: exit status 22", "curl -fsS -u admin:" + w + " https://h/x: exit status 22"},
		{"curl --user 'admin:two words' https://h/x", "curl --user 'admin:" + w + "' https://h/x"},
		{"curl -u admin https://h/x", "curl -u admin https://h/x"},
		{"vault login --password hunter2 -method=userpass", "vault login --password " + w + " -method=userpass"},
		{"tool -token s.abcdef --client-secret 'x y'", "tool -token " + w + " --client-secret '" + w + "'"},
		{"run --api-key k-123 --verbose", "run --api-key " + w + " --verbose"},
		{"psql --password -U bob shop", "psql --password -U bob shop"},
		{"docker login --password-stdin registry.example.com", "docker login --password-stdin registry.example.com"},
		{"app --password-file /run/secrets/db --token-url https://h/t", "app --password-file /run/secrets/db --token-url https://h/t"},
		{"pg_dump --no-password shop", "pg_dump --no-password shop"},
		{"kubectl get secret --secret-name db-creds", "kubectl get secret --secret-name db-creds"},
		{"ssh -p 2222 host", "ssh -p 2222 host"},
		{"ls -a /tmp; docker run -u 1000:1000 img", "ls -a /tmp; docker run -u 1000:1000 img"},
		{"grep -pattern x", "grep -pattern x"},
		{"retrying - attempt 3 of 5", "retrying - attempt 3 of 5"},
		{"sshpass -pHunter2 ssh h\nssh -p 22 h", "sshpass -p" + w + " ssh h\nssh -p 22 h"},
		{"login --token expired", "login --token expired"},
		// Every mask key names a flag (cookie, jwt, cvv are keys).
		{"app --cookie sessabc123", "app --cookie " + w},
		{"app --jwt abcdef123456", "app --jwt " + w},
		{"app --cvv 123", "app --cvv " + w},
		{"gpg --batch --passphrase hunter2x -d f.gpg", "gpg --batch --passphrase " + w + " -d f.gpg"},
		// Arguments quoted one by one: %q of a []string, JSON, escaped.
		{`command ["vault" "login" "--password" "hunter2x"] failed`, `command ["vault" "login" "--password" "` + w + `"] failed`},
		{`{"args":["vault","login","--password","hunter2x"]}`, `{"args":["vault","login","--password","` + w + `"]}`},
		{`["curl" "-u" "admin:hunter2x" "https://h"]`, `["curl" "-u" "admin:` + w + `" "https://h"]`},
		{`["sshpass" "-p" "hunter2x" "ssh" "h"]`, `["sshpass" "-p" "` + w + `" "ssh" "h"]`},
		{`{"cmd":"app --token \"abcdef123\" go"}`, `{"cmd":"app --token \"` + w + `\" go"}`},
		{`{"cmd":"mysql -p\"hunter2x\" db"}`, `{"cmd":"mysql -p\"` + w + `\" db"}`},
		{`["psql" "--password" "-U" "bob"]`, `["psql" "--password" "-U" "bob"]`},
		// The tool the flag belongs to, as a word.
		{"mysql-backup.sh: curl -u admin:hunter2x https://h/x", "mysql-backup.sh: curl -u admin:" + w + " https://h/x"},
		{"mysql dump done; sshpass -p hunter2x ssh host", "mysql dump done; sshpass -p " + w + " ssh host"},
		{"ssh mysql-01 'redis-cli -a hunter2x ping'", "ssh mysql-01 'redis-cli -a " + w + " ping'"},
		{"/usr/bin/mysqladmin -uroot -phunter2x status", "/usr/bin/mysqladmin -uroot -p" + w + " status"},
		{"backup to mysql-01 -p 3306 failed", "backup to mysql-01 -p 3306 failed"},
		// curl's password glued to the flag, or after '='.
		{"curl -uadmin:hunter2x https://h/x", "curl -uadmin:" + w + " https://h/x"},
		{"curl --user=admin:hunter2x https://h/x", "curl --user=admin:" + w + " https://h/x"},
		// A quote never closed: a text cut short.
		{`run --password "hunter2x`, `run --password "` + w},
		// Flags that count or say how, not what.
		{"ask --max-tokens 4096 --tokenizer bert", "ask --max-tokens 4096 --tokenizer bert"},
		// A value starting with '-' (an URL-safe base64 token, a
		// password), as Go's flag package and getopt take it; a word
		// shaped as a flag is the next flag.
		{"app --token -Yx9_aQ7bZ go", "app --token " + w + " go"},
		{"app -password -hunter2x -v", "app -password " + w + " -v"},
		{`["app","--token","-Yx9_aQ7bZ"]`, `["app","--token","` + w + `"]`},
		{"mysql --password --host db -u bob", "mysql --password --host db -u bob"},
		{"app --secret -v --token - < t.txt", "app --secret -v --token - < t.txt"},
		{`["psql","--password","--host=db"]`, `["psql","--password","--host=db"]`},
		// htpasswd's password, an argument with -b.
		{"htpasswd -bc /etc/nginx/.htpasswd ann hunter2x: exit status 1", "htpasswd -bc /etc/nginx/.htpasswd ann " + w + " exit status 1"},
		{"htpasswd -nbB ann hunter2x", "htpasswd -nbB ann " + w},
		{"htpasswd -b -C 12 f ann 'two words'", "htpasswd -b -C 12 f ann '" + w + "'"},
		{`["htpasswd","-bB","f","ann","hunter2x"]`, `["htpasswd","-bB","f","ann","` + w + `"]`},
		{"htpasswd -c f ann", "htpasswd -c f ann"},
		{"htpasswd -bi f ann < pw", "htpasswd -bi f ann < pw"},
		{"htpasswd -D f ann", "htpasswd -D f ann"},
		{"htpasswd -b f ann\nnext line x", "htpasswd -b f ann\nnext line x"},
		{"tar -b 20 -cf a.tar x y z", "tar -b 20 -cf a.tar x y z"},
		{"htpasswd -bC 10 f u hunter2x", "htpasswd -bC 10 f u " + w},
		{"htpasswd -bC10 f u hunter2x", "htpasswd -bC10 f u " + w},
		{"htpasswd -b f u -Yx9_aQ7zz", "htpasswd -b f u " + w},
		{`\"htpasswd\" \"-nb\" \"\" \"hunter2x\"`, `\"htpasswd\" \"-nb\" \"\" \"` + w + `\"`},
		{`["htpasswd","-bc","","u","hunter2x"]`, `["htpasswd","-bc","","u","` + w + `"]`},
		{`C:\Apache24\bin\htpasswd.exe -bc f u hunter2x`, `C:\Apache24\bin\htpasswd.exe -bc f u ` + w},
		{"htpasswd -c f u; sort -b a b c", "htpasswd -c f u; sort -b a b c"},
		{"cp /srv/htpasswd /bak && du -b f g h", "cp /srv/htpasswd /bak && du -b f g h"},
		{"htpasswd -b f u; echo done", "htpasswd -b f u; echo done"},
		{"htpasswd -b f u hunter2x; htpasswd -v f u", "htpasswd -b f u " + w + "; htpasswd -v f u"},
		{"[htpasswd -bc f u hunter2x]", "[htpasswd -bc f u " + w + "]"},
		{"mysql.exe -uroot -phunter2x shop", "mysql.exe -uroot -p" + w + " shop"},
		// A word after a secret flag that starts with '-' but is no flag.
		{"app --password -=hunter2x", "app --password " + w},
		{"app --password --=hunter2x", "app --password " + w},
		{`["app","--password","-=hunter2x"]`, `["app","--password","` + w + `"]`},
		{"psql --password -p5432 -d shop", "psql --password -p5432 -d shop"},
		{"app --token -j4 build", "app --token -j4 build"},
		{"app --token -- build", "app --token -- build"},
		{"app --password hunter,2x, then failed", "app --password " + w + ", then failed"},
		{"app --password -,hunter2x", "app --password " + w},
		{"kubectl --auth-provider github --credential-helper store", "kubectl --auth-provider github --credential-helper store"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, m.scrubText(tc.in), tc.in)
	}
	// A key the user adds names a flag too, and the shape's quick test
	// knows it (it would skip the scan otherwise).
	m, err = newMasker(MaskOptions{Keys: append(DefaultMaskKeys(), "otp")})
	require.NoError(t, err)
	assert.Equal(t, "login --otp "+w, m.scrubText("login --otp 482913"))
	assert.True(t, m.mayHoldSecret("login --otp 482913"))
}

// FuzzMaskFlags: masking a command line never panics, and the quick test
// every text gets first says "may hold a secret" of any text whose flags
// maskFlags would mask (else the scan would be skipped, and the secret
// leave).
func FuzzMaskFlags(f *testing.F) {
	m, err := newMasker(MaskOptions{Keys: append(DefaultMaskKeys(), "otp")})
	require.NoError(f, err)
	for _, s := range []string{
		"mysqldump -uapp -pS3cr3t shop", `["curl" "-u" "admin:hunter2x"]`, `{"cmd":"app --token \"abc\" go"}`,
		"sshpass -p x ssh h", "redis-cli -a x", "login --otp 123456", "app --cookie abcdef", `run --password "cut`,
		"curl --user=a:b h", "a - b -- c --", "-", "é--pässword ü", "htpasswd -nb u p", `["htpasswd","-bc","",\"u\",x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := m.maskFlags(s)
		if out != s && len(s) >= minSecretLen && !m.mayHoldSecret(s) {
			t.Fatalf("maskFlags masks %q (%q) but mayHoldSecret says no", s, out)
		}
		_ = m.scrubText(s)
	})
}

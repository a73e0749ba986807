// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp)
// in a test's process, as net/http/httptest runs an HTTP server: for the
// tests of errlog's error mail, errlogd's alerts, and a program's own
// mail settings. It offers STARTTLS or implicit TLS with a self-signed
// certificate (Server.ClientTC trusts it), AUTH PLAIN or LOGIN, and a
// hook that answers any stage with the reply a test wants.
package mailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Received is one mail as the server got it.
type Received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Auth string
	Mech string // the AUTH mechanism used
}

// Server is a real SMTP server (github.com/emersion/go-smtp) on
// loopback, that keeps what it receives.
type Server struct {
	Addr     string
	srv      *gosmtp.Server
	user     string
	pass     string
	ClientTC *tls.Config // trusts the server's self-signed certificate

	mu      sync.Mutex
	mails   []Received
	conns   int
	open    int
	mechs   []string
	hook    func(stage string) error // "MAIL", "RCPT", "DATA"; non-nil error is the reply
	arrived chan struct{}
}

// Options say what the server offers.
type Options struct {
	TLS      bool     // offer STARTTLS
	Implicit bool     // TLS from the first byte
	Auth     bool     // require AUTH as user/s3cret
	Mechs    []string // the AUTH mechanisms offered: "PLAIN", "LOGIN"; default PLAIN
	// InsecureAuth offers AUTH without TLS too (a local relay).
	InsecureAuth bool
	Addr         string // default 127.0.0.1:0
	// IdleTimeout is how long the server waits for a command before it
	// says "421 4.4.2 Idle timeout" and hangs up, as Postfix and Exim do.
	// Default 10 s.
	IdleTimeout time.Duration
}

// Start starts a server for the test; it stops at the test's end.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 100000), mechs: o.Mechs}
	if len(s.mechs) == 0 {
		s.mechs = []string{sasl.Plain}
	}
	if o.Auth {
		s.user, s.pass = "user", "s3cret"
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &testSession{s: s, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	if o.IdleTimeout > 0 {
		srv.ReadTimeout = o.IdleTimeout
	}
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = o.InsecureAuth
	if o.TLS || o.Implicit {
		cert, pool := SelfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.ClientTC = &tls.Config{RootCAs: pool}
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.srv = srv
	ln = countingListener{ln, s}
	if o.Implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

type countingListener struct {
	net.Listener
	s *Server
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.open++
		l.s.mu.Unlock()
		c = &countedConn{Conn: c, s: l.s}
	}
	return c, err
}

// countedConn counts itself out of the server's open connections when the
// server closes it (the client quit or hung up).
type countedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.open--
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Open counts the connections the server has open.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// SetHook makes h answer each stage ("MAIL", "RCPT" with the recipient
// after a space, "DATA"): a non-nil error is the server's reply.
func (s *Server) SetHook(h func(string) error) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

func (s *Server) callHook(stage string) error {
	s.mu.Lock()
	h := s.hook
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(stage)
}

// Mails returns the mails received so far.
func (s *Server) Mails() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.mails...)
}

// Conns counts the connections accepted so far.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitMails waits until n mails have arrived and returns them.
func (s *Server) WaitMails(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("%d mails arrived in %v, want %d", len(s.Mails()), timeout, n)
		}
	}
}

type testSession struct {
	s      *Server
	c      *gosmtp.Conn
	authed string
	mech   string
	from   string
	to     []string
}

func (ss *testSession) AuthMechanisms() []string { return ss.s.mechs }

func (ss *testSession) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			return gosmtp.ErrAuthFailed
		}
		ss.authed, ss.mech = username, mech
		return nil
	}
	if mech == "LOGIN" {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 { // an initial response is the user name
			l.username, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.username, string(response))
}

func (ss *testSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.s.user != "" && ss.authed == "" {
		return gosmtp.ErrAuthRequired
	}
	if err := ss.s.callHook("MAIL"); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *testSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if err := ss.s.callHook("RCPT " + to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.callHook("DATA"); err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, Received{From: ss.from, To: ss.to, Data: b, TLS: isTLS, Auth: ss.authed, Mech: ss.mech})
	ss.s.mu.Unlock()
	ss.s.arrived <- struct{}{}
	return nil
}

func (ss *testSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *testSession) Logout() error { return nil }

// SelfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "errlog test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// Stalled starts a server that accepts connections and never says a word.
func Stalled(t testing.TB) string {
	t.Helper()
	ln, keep := listen(t)
	accept(ln, func(c net.Conn) { keep(c) })
	return ln.Addr().String()
}

// QuitSwallowed starts a proxy to the SMTP server at upstream that passes
// every command but QUIT, which it swallows: the client waits for an
// answer that never comes. It returns the proxy's address.
func QuitSwallowed(t testing.TB, upstream string) string {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after listen's cleanup has closed the connections
	ln, keep := listen(t)
	accept(ln, func(c net.Conn) {
		up, err := net.Dial("tcp", upstream)
		if err != nil {
			c.Close()
			return
		}
		keep(c, up)
		wg.Add(2)
		go func() { defer wg.Done(); io.Copy(c, up) }()
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil || strings.EqualFold(strings.TrimSpace(line), "QUIT") {
					return
				}
				if _, err := io.WriteString(up, line); err != nil {
					return
				}
			}
		}()
	})
	return ln.Addr().String()
}

// accept hands each connection ln accepts to handle, until ln is closed.
func accept(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
}

// listen listens on loopback; the test's end closes the listener and the
// connections given to keep.
func listen(t testing.TB) (ln net.Listener, keep func(...net.Conn)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln, func(cs ...net.Conn) {
		mu.Lock()
		conns = append(conns, cs...)
		mu.Unlock()
	}
}

// FreeAddr returns an address where nothing listens (yet).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// CertDER is the server's self-signed certificate (with TLS or Implicit).
func (s *Server) CertDER() []byte {
	return s.srv.TLSConfig.Certificates[0].Certificate[0]
}

package mail

import (
	"strings"
	"testing"
)

// One parser of the TLS mode, for ERRLOG_SMTP_TLS and ERRLOGD_SMTP_TLS:
// any case, "tls" for implicit, "" for the default.
func TestSetTLS(t *testing.T) {
	for mode, want := range map[string]Options{
		"": {}, "starttls": {}, "STARTTLS": {}, " required ": {RequireTLS: true}, "Implicit": {ImplicitTLS: true},
		"tls": {ImplicitTLS: true}, "NONE": {NoTLS: true},
	} {
		o := Options{RequireTLS: true, NoTLS: true, ImplicitTLS: true} // each call sets all three
		err := o.SetTLS(mode)
		if err != nil || o.ImplicitTLS != want.ImplicitTLS || o.RequireTLS != want.RequireTLS || o.NoTLS != want.NoTLS {
			t.Errorf("SetTLS(%q) = %+v, %v; want %+v", mode, o, err, want)
		}
	}
	var o Options
	if err := o.SetTLS("ssl"); err == nil || err.Error() != "mail: want starttls, required, implicit or none" {
		t.Errorf("SetTLS(ssl): %v", err)
	}
}

// Defaults: port 25, implicit TLS on 465 (unless NoTLS), the EHLO name
// from the server name, ServerName of TLS from the host.
func TestTransportConfig(t *testing.T) {
	c, err := (&Options{Addr: "mail.example.com"}).transportConfig("web-1")
	if err != nil || c.addr != "mail.example.com:25" || c.implicitTLS || c.localName != "web-1" || c.tlsConfig.ServerName != "mail.example.com" ||
		c.timeout != DefaultTimeout || c.idleTimeout != DefaultIdleTimeout {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if c, _ := (&Options{Addr: "mail.example.com:465"}).transportConfig(""); !c.implicitTLS || c.localName != "localhost" {
		t.Errorf("port 465: %+v", c)
	}
	if c, _ := (&Options{Addr: "mail.example.com:465", NoTLS: true}).transportConfig(""); c.implicitTLS || !c.noTLS {
		t.Errorf("NoTLS on port 465: %+v", c)
	}
	if c, _ := (&Options{Addr: "[::1]"}).transportConfig(""); c.addr != "[::1]:25" {
		t.Errorf("IPv6 without a port: %q", c.addr)
	}
	for addr, want := range map[string]string{"": "neither Addr nor Dir", "localhost:smtp": `bad port "smtp"`, "a:b:c": "too many colons"} {
		if _, err := (&Options{Addr: addr}).transportConfig(""); err == nil || !strings.HasPrefix(err.Error(), "mail: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Addr %q: %v, want %q", addr, err, want)
		}
	}
}

func TestAddresses(t *testing.T) {
	a, err := ParseAddresses("", Recipients(" ops@example.com, ,Dev Team <dev@example.com>"), "errlog@web-1", false)
	if err != nil || a.From != "errlog@web-1" || strings.Join(a.To, "|") != `ops@example.com|"Dev Team" <dev@example.com>` ||
		strings.Join(a.EnvTo, "|") != "ops@example.com|dev@example.com" {
		t.Errorf("%+v, %v", a, err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Addr: "x"}, "no recipient"},
		{Options{To: []string{"not an address"}}, `recipient "not an address"`},
		{Options{To: []string{"a@b.c"}, From: "@@"}, `sender "@@"`},
	} {
		if _, err := c.o.Addresses("e@x"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	if a, err := (&Options{Dir: "/tmp"}).Addresses("e@x"); err != nil || a.EnvTo[0] != "errlog@localhost" {
		t.Errorf("Dir without To: %+v, %v", a, err)
	}
	if got := HostPart("web 1.<example>.com."); got != "web1.example.com" {
		t.Errorf("HostPart = %q", got)
	}
}

package wire

import (
	"net"
	"net/url"
	"strings"
)

// RedactURL returns what a message may show of a URL that can hold a
// secret (a debug URL, a chat webhook): its scheme and RedactHost of its
// host, with "/…" for any path and query, and never its user info.
// Request bins and webhooks carry their token in the path
// (webhook.site/<uuid>, hooks.slack.com/services/…) or in the first labels
// of the host (<token>.m.pipedream.net). A DSN's key is in its user info:
// DSN.Redacted shows more of a DSN, still without the key.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "(unparsable URL)"
	case u.Host == "":
		return "(URL without a host)"
	}
	s := u.Scheme + "://" + RedactHost(u.Host)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return s + "/…"
	}
	return s + u.Path
}

// RedactHost returns host[:port] with the labels of the host name before
// its last two replaced by "*": "*.pipedream.net:443". IP addresses and
// names of one or two labels are kept whole.
func RedactHost(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil {
		if labels := strings.Split(strings.TrimSuffix(host, "."), "."); len(labels) > 2 {
			host = "*." + strings.Join(labels[len(labels)-2:], ".")
		}
	}
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}

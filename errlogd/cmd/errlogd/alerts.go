package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/mail"
)

// alertConfig is mail and alert rules (errlogd/alert).
type alertConfig struct {
	smtpAddr, smtpUser, smtpPassword, smtpTLS, smtpCA string
	from, to, subjectPrefix, rules                    string
	mailDelay                                         time.Duration
}

const alertUsage = `  ERRLOGD_SMTP_ADDR            -smtp-addr      mail server host:port; set: new groups and regressions are mailed
  ERRLOGD_SMTP_USER            -smtp-user
  ERRLOGD_SMTP_PASSWORD        (variable only)
  ERRLOGD_SMTP_TLS             -smtp-tls       starttls (default: when offered), required, implicit, none
  ERRLOGD_SMTP_CA_FILE         -smtp-ca-file   PEM certificates trusted besides the system's (a private CA)
  ERRLOGD_MAIL_FROM            -mail-from      default errlogd@<host of the public URL>
  ERRLOGD_MAIL_SUBJECT_PREFIX  -mail-subject-prefix  default "[errlog] "
  ERRLOGD_MAIL_TO              -mail-to        default recipients, comma-separated
  ERRLOGD_MAIL_DELAY           -mail-delay     digest window: the first alert goes at once, later ones within it as one digest (default 1m)
  ERRLOGD_RULES                -rules          alert rules file, YAML or JSON (docs/errlogd.md: errlogd alerts)
`

func (a *alertConfig) register(fs *flag.FlagSet, getenv func(string) string) {
	a.smtpPassword = getenv("ERRLOGD_SMTP_PASSWORD")
	fs.StringVar(&a.smtpAddr, "smtp-addr", getenv("ERRLOGD_SMTP_ADDR"), "SMTP server host:port for alert mail (empty: no mail)")
	fs.StringVar(&a.smtpUser, "smtp-user", getenv("ERRLOGD_SMTP_USER"), "SMTP AUTH user (password: ERRLOGD_SMTP_PASSWORD)")
	fs.StringVar(&a.smtpTLS, "smtp-tls", getenv("ERRLOGD_SMTP_TLS"), `SMTP TLS: starttls (default: upgrade when offered), required, implicit (port 465) or none`)
	fs.StringVar(&a.smtpCA, "smtp-ca-file", getenv("ERRLOGD_SMTP_CA_FILE"), "PEM certificates the SMTP server's TLS is checked against, besides the system's")
	fs.StringVar(&a.subjectPrefix, "mail-subject-prefix", getenv("ERRLOGD_MAIL_SUBJECT_PREFIX"), `start of every alert mail's subject (default "[errlog] ")`)
	fs.StringVar(&a.from, "mail-from", getenv("ERRLOGD_MAIL_FROM"), "sender of alert mail (default errlogd@<host of the public URL>)")
	fs.StringVar(&a.to, "mail-to", getenv("ERRLOGD_MAIL_TO"), "default recipients of alert mail, comma-separated")
	fs.DurationVar(&a.mailDelay, "mail-delay", envDuration(getenv, "ERRLOGD_MAIL_DELAY", time.Minute), "digest window: the first alert mail goes at once, later ones within the window as one digest (0: none)")
	fs.StringVar(&a.rules, "rules", getenv("ERRLOGD_RULES"), "alert rules file, YAML or JSON (default: mail every new group and regression)")
}

// startAlerts attaches the notifier to the store when mail or rules are
// configured; nil when neither is.
func startAlerts(st store.Store, c *config, listen string, stderr io.Writer) (*alert.Notifier, error) {
	a := &c.alerts
	if a.smtpAddr == "" && a.rules == "" {
		return nil, nil
	}
	db, ok := st.(alert.Store)
	if !ok {
		return nil, fmt.Errorf("errlogd: alerts: store %T has no tables for alerts", st)
	}
	var cfg *alert.Config
	if a.rules != "" {
		var err error
		if cfg, err = alert.LoadConfig(a.rules); err != nil {
			return nil, usageError{err}
		}
		if err := checkRuleProjects(context.Background(), st, cfg, a.rules, dbName(c.db)); err != nil {
			return nil, usageError{err}
		}
	}
	// The settings and their parsers are the client's (package mail).
	mc := mail.Options{Addr: a.smtpAddr, Username: a.smtpUser, Password: a.smtpPassword, From: a.from, To: mail.Recipients(a.to),
		SubjectPrefix: a.subjectPrefix}
	if err := mc.SetTLS(a.smtpTLS); err != nil {
		return nil, usageError{fmt.Errorf("errlogd: ERRLOGD_SMTP_TLS (-smtp-tls) %q: %s", a.smtpTLS, strings.TrimPrefix(err.Error(), "mail: "))}
	}
	if a.smtpCA != "" {
		if err := mc.SetCAFile(a.smtpCA); err != nil {
			return nil, usageError{fmt.Errorf("errlogd: ERRLOGD_SMTP_CA_FILE (-smtp-ca-file) %q: %s", a.smtpCA, strings.TrimPrefix(err.Error(), "mail: "))}
		}
	}
	base := c.publicURL
	if base == "" {
		base = "http://" + listen
	}
	n, err := alert.New(db, cfg, alert.Options{Mail: mc, PublicURL: strings.TrimSuffix(base, "/") + strings.TrimSuffix(c.prefix, "/"),
		MailDelay: delayOpt(a.mailDelay), TraceURL: c.traceURL, OnError: func(err error) { fmt.Fprintln(stderr, err) }})
	if err != nil {
		return nil, usageError{err}
	}
	return n, nil
}

// delayOpt maps the flag (0: none) to alert.Options.MailDelay (0:
// default, negative: none).
func delayOpt(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

package errlog

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/values"
)

// environment is what every event says of the process: computed and
// masked once, when the Handler is built, and shared by every event.
type environment struct {
	serverName string
	modules    map[string]string
	// contexts are Sentry contexts: os, runtime, app (the configuration),
	// environment (the OS environment variables as os.NAME).
	contexts map[string]map[string]any
}

func newEnvironment(o *Options, san *sanitizer) *environment {
	m := san.m
	e := &environment{serverName: o.ServerName}
	e.modules = map[string]string{}
	mainModule := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		mainModule = bi.Main.Path
		if bi.Main.Path != "" {
			e.modules[bi.Main.Path] = bi.Main.Version
		}
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Path + " " + d.Replace.Version
			}
			e.modules[d.Path] = v
		}
	}
	e.contexts = map[string]map[string]any{
		"os":      {"type": "os", "name": runtime.GOOS},
		"runtime": {"type": "runtime", "name": "go", "version": runtime.Version()},
		"device":  {"type": "device", "arch": runtime.GOARCH, "processor_count": runtime.NumCPU()},
	}
	app := map[string]any{"type": "app"}
	if mainModule != "" {
		app["app_name"] = mainModule
	}
	if exe, err := os.Executable(); err == nil {
		app["executable"] = exe
	}
	if len(o.Config) > 0 {
		cfg := make(map[string]any, len(o.Config))
		for k, v := range o.Config {
			if m.hides(catEnv, k) {
				cfg[k] = m.with
			} else {
				cfg[k] = san.cleanTree(catEnv, values.JSON(v))
				if str, ok := cfg[k].(string); ok {
					cfg[k] = m.maskURLPassword(str)
				}
			}
		}
		app["config"] = cfg
	}
	e.contexts["app"] = app
	vars := map[string]any{}
	allow := append(DefaultEnvKeys(), o.EnvKeys...)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !envAllowed(allow, k) {
			continue
		}
		switch {
		case m.hides(catEnv, k):
			v = m.with
		case k == "ERRLOG_SMTP_ADDR" && strings.Contains(v, "@"):
			// "user:password@host:587", which FromEnv refuses for the
			// password it holds: only the host goes out.
			v = m.with + "@" + v[strings.LastIndexByte(v, '@')+1:]
		default:
			// Secrets by their shape too, as in every other text.
			v = m.scrubText(m.maskURLPassword(v))
		}
		vars["os."+k] = v
	}
	e.contexts["environment"] = vars
	return e
}

// applyTo sets the process-wide fields of ev.
func (e *environment) applyTo(ev *event.Event) {
	ev.ServerName = e.serverName
	ev.Modules = e.modules
	if ev.Contexts == nil {
		ev.Contexts = make(map[string]map[string]any, len(e.contexts)+2)
	}
	for k, v := range e.contexts {
		ev.Contexts[k] = v
	}
}

// DefaultEnvKeys returns the process environment variables every event
// carries: the ones that help debugging and cannot be secret (Go's runtime
// settings, the host name, time zone and locale, and errlog's own
// settings but for the DSN, the SMTP password and the debug URL). A name
// ending in "*" is a prefix. Options.EnvKeys and ERRLOG_ENV_KEYS add more;
// no list of secrets can be complete for the names people invent, so the
// rest of the environment is never sent.
func DefaultEnvKeys() []string {
	return []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "GOTRACEBACK", "GOOS", "GOARCH",
		"HOSTNAME", "TZ", "LANG", "LC_ALL", "ERRLOG_*"}
}

// envSecrets are errlog's own settings that are secret or may hold one.
var envSecrets = []string{"ERRLOG_SMTP_PASSWORD", "ERRLOG_DSN", "ERRLOG_DEBUG_URL"}

// envAllowed reports whether the variable name is on the allow list
// (names, or prefixes ending in "*") and is not one of errlog's secrets.
func envAllowed(allow []string, name string) bool {
	for _, s := range envSecrets {
		if name == s {
			return false
		}
	}
	for _, a := range allow {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			// A bare "*" would send the whole environment, secrets and
			// all: the list allows, it does not open.
			if p != "" && strings.HasPrefix(name, p) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

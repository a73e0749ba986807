package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/errlog/errlog/errlogd/store"
)

const projectUsage = `usage:
  errlogd project add NAME [-db …]    add a project and print its DSN
  errlogd project list [-db …]        list projects and their DSNs
  errlogd project set ID [flags]      change a project: -name, -rate-limit, -in-app, -disabled
`

// projectFlags are the flags of serve that project commands use (the
// printed DSNs name -public-url or -addr, and -prefix).
var projectFlags = []string{"db", "addr", "prefix", "public-url"}

// runProject adds, lists and changes projects of an existing store: it
// never creates one (serve does), and says which store it used.
func runProject(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "set") {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, projectUsage)
			return 0
		}
		fmt.Fprint(stderr, projectUsage)
		return 2
	}
	cmd := args[0]
	fs, c := flags("errlogd project "+cmd, getenv, stderr)
	var setName, setInApp string
	var setRate int
	var setDisabled bool
	shown := projectFlags
	synopsis := map[string]string{
		"add":  "errlogd project add NAME [flags]: add a project to an existing store and print its DSN",
		"list": "errlogd project list [flags]: list the projects of an existing store and their DSNs",
		"set":  "errlogd project set ID [flags]: change a project's settings (unset flags keep theirs)",
	}[cmd]
	if cmd == "set" {
		fs.StringVar(&setName, "name", "", "new name")
		fs.IntVar(&setRate, "rate-limit", -1, "events per minute ingest accepts (0: no limit)")
		fs.StringVar(&setInApp, "in-app", "", `module prefixes whose frames are in-app, comma-separated ("-" clears)`)
		fs.BoolVar(&setDisabled, "disabled", false, "refuse the project's events (403)")
		shown = append([]string{"name", "rate-limit", "in-app", "disabled"}, shown...)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\nFlags:\n", synopsis)
		printFlags(fs, shown)
	}
	rest := args[1:]
	var name string
	if cmd == "add" || cmd == "set" {
		if len(rest) > 0 && isHelp(rest[0]) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fs.Usage()
			return 2
		}
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "errlogd project %s: unexpected %q\n", cmd, fs.Arg(0))
		fs.Usage()
		return 2
	}
	if err := checkEnv(getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var err error
	if c.prefix, err = normPrefix(c.prefix); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var id int64
	if cmd == "set" {
		if id, err = strconv.ParseInt(name, 10, 64); err != nil {
			fmt.Fprintf(stderr, "errlogd: project id %q is not a number (errlogd project list shows them)\n", name)
			return 2
		}
	}
	st, err := openExisting(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer st.Close(context.Background())
	db := dbName(c.db)
	ps, err := st.Projects(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "errlogd:", err)
		return 1
	}
	named := func(n string, except int64) *store.Project {
		for i := range ps {
			if ps[i].Name == n && ps[i].ID != except {
				return &ps[i]
			}
		}
		return nil
	}
	switch cmd {
	case "set":
		p, err := st.Project(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stderr, "errlogd: no project %d in %s\n", id, db)
			return 1
		} else if err != nil {
			fmt.Fprintln(stderr, "errlogd:", err)
			return 1
		}
		var bad error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				if setName = strings.TrimSpace(setName); setName == "" {
					bad = fmt.Errorf("errlogd: -name: a project needs a name")
				} else if allDigits(setName) {
					bad = fmt.Errorf("errlogd: -name %q: a name of digits only reads as a project id (alert rules take either)", setName)
				} else if o := named(setName, p.ID); o != nil {
					bad = fmt.Errorf("errlogd: project %d in %s is already named %q: names are unique (alert rules refer to them)", o.ID, db, setName)
				}
				p.Name = setName
			case "rate-limit":
				p.RateLimit = max(setRate, 0)
			case "in-app":
				p.InApp = nil
				for _, s := range strings.Split(setInApp, ",") {
					if s = strings.TrimSpace(s); s != "" && s != "-" {
						p.InApp = append(p.InApp, s)
					}
				}
			case "disabled":
				p.Disabled = setDisabled
			}
		})
		if bad != nil {
			fmt.Fprintln(stderr, bad)
			return 2
		}
		if err := st.UpdateProject(ctx, p); err != nil {
			fmt.Fprintln(stderr, "errlogd:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%d\t%s\trate limit %d/min\tin-app %q\tdisabled %v\n", p.ID, p.Name, p.RateLimit, p.InApp, p.Disabled)
		fmt.Fprintf(stderr, "errlogd: changed project %d in %s\n", p.ID, db)
	case "add":
		if name = strings.TrimSpace(name); name == "" || allDigits(name) {
			fmt.Fprintf(stderr, "errlogd: project name %q: a project needs a name, and one of digits only reads as a project id (alert rules take either)\n", name)
			return 2
		}
		if o := named(name, 0); o != nil {
			fmt.Fprintf(stderr, "errlogd: %s already has a project named %q (id %d): names are unique (alert rules refer to them)\n", db, name, o.ID)
			return 1
		}
		p, err := st.CreateProject(ctx, name)
		if err != nil {
			fmt.Fprintln(stderr, "errlogd:", err)
			return 1
		}
		fmt.Fprintln(stdout, c.dsn(*p, c.addr))
		fmt.Fprintf(stderr, "errlogd: added project %d %q to %s\n", p.ID, p.Name, db)
	case "list":
		for _, p := range ps {
			state := ""
			if p.Disabled {
				state = " (disabled)"
			}
			fmt.Fprintf(stdout, "%d\t%s\t%s%s\n", p.ID, p.Name, c.dsn(p, c.addr), state)
		}
		fmt.Fprintf(stderr, "errlogd: %d projects in %s\n", len(ps), db)
	}
	return 0
}

func isHelp(s string) bool {
	return s == "-h" || s == "-help" || s == "--help" || s == "help"
}

// printFlags prints the usage of the named flags of fs, in that order.
func printFlags(fs *flag.FlagSet, names []string) {
	sub := flag.NewFlagSet("", flag.ContinueOnError)
	sub.SetOutput(fs.Output())
	for _, n := range names {
		if f := fs.Lookup(n); f != nil {
			sub.Var(f.Value, f.Name, f.Usage)
		}
	}
	sub.PrintDefaults()
}

// allDigits reports whether s is a number: a project named "3" would be
// project 3 to an alert rule's `project: 3`, which takes an id or a name.
func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

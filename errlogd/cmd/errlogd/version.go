package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v0.4.0"; empty: the module's version as
// go install recorded it, else "devel".
var version string

func binaryVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version // go install …@v0.4.0, or a VCS-stamped build
	}
	v := "devel"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// versionLine is what errlogd version prints: the binary's version and
// the store schema it writes (a database with a newer schema is refused).
func versionLine() string {
	schema := fmt.Sprintf("schema %d", sqlite.Schema())
	if p := postgres.Schema(); p != sqlite.Schema() {
		schema = fmt.Sprintf("schema %d (SQLite), %d (PostgreSQL)", sqlite.Schema(), p)
	}
	return fmt.Sprintf("errlogd %s, %s, %s %s/%s", binaryVersion(), schema, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

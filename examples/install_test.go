package examples

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// published are the modules a user installs or imports, with their
// folders in this repository. bench and examples' own tests are not
// published for import, but the quickstart is installed with go install.
var published = []struct{ path, dir string }{
	{"github.com/errlog/errlog", ".."},
	{"github.com/errlog/errlog/errlogd", "../errlogd"},
	{"github.com/errlog/errlog/examples", "."},
}

// TestInstallFromModuleProxy installs errlogd and the quickstart, and
// builds a program that imports errlog, from a module proxy made of this
// repository's files: what `go install …@version` and `go get` do once the
// modules are tagged (vX.Y.Z, errlogd/vX.Y.Z, examples/vX.Y.Z). Outside
// go.work, no replace directive helps; one in a published go.mod makes
// `go install` refuse the module.
func TestInstallFromModuleProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds errlogd from scratch")
	}
	// The modules are published at a version of this run's own, the next
	// release's with a pre-release suffix, so that no copy of another
	// tree at the same version (an earlier run's, another checkout's
	// running at the same time) can stand in for this one in the module
	// cache; their go.mod files require each other at it.
	version := releaseVersion(t) + "-install." + strconv.FormatInt(time.Now().UnixNano(), 10)
	proxy := t.TempDir()
	for _, m := range published {
		writeProxyModule(t, proxy, m.path, m.dir, version)
	}

	// The third-party modules come from this machine's module cache, as
	// they would for a user who built anything before; what it lacks
	// comes from the configured proxy. This run's versions of the tree's
	// modules are removed from the cache afterwards.
	gomodcache := strings.TrimSpace(goEnv(t, "GOMODCACHE"))
	t.Cleanup(func() {
		for _, m := range published {
			esc, _ := module.EscapePath(m.path)
			_ = os.RemoveAll(filepath.Join(gomodcache, filepath.FromSlash(esc)+"@v"+version))
			for _, ext := range []string{".info", ".mod", ".zip", ".ziphash", ".lock"} {
				_ = os.Remove(filepath.Join(gomodcache, "cache", "download", filepath.FromSlash(esc), "@v", "v"+version+ext))
			}
		}
	})
	upstream := strings.TrimSpace(goEnv(t, "GOPROXY"))
	env := append(os.Environ(),
		"GOWORK=off",
		"GOFLAGS=-modcacherw", // as a user has it: go.mod and go.sum are not rewritten behind their back
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+upstream,
		"GONOSUMDB=github.com/errlog",
		"GOBIN="+filepath.Join(t.TempDir(), "bin"),
	)
	gobin := env[len(env)-1][len("GOBIN="):]
	work := t.TempDir()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	run(work, "install", "github.com/errlog/errlog/errlogd/cmd/errlogd@v"+version)
	run(work, "install", "github.com/errlog/errlog/examples/quickstart@v"+version)
	for _, bin := range []string{"errlogd", "quickstart"} {
		if _, err := os.Stat(filepath.Join(gobin, bin)); err != nil {
			t.Fatalf("go install left no %s: %v", bin, err)
		}
	}
	out, _ := exec.Command(filepath.Join(gobin, "errlogd"), "-h").CombinedOutput()
	if !strings.Contains(string(out), "errlogd") {
		t.Fatalf("the installed errlogd -h printed:\n%s", out)
	}

	// A user's program: go get, then build, outside any workspace.
	app := filepath.Join(work, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	// Its code is the README's: what a new user pastes first.
	src := "package main\n\nimport (\n\t\"context\"\n\t\"log/slog\"\n\t\"net/http\"\n\n\t\"github.com/errlog/errlog\"\n)\n\n" +
		"func main() {\n\tmux := http.NewServeMux()\n" + readmeBlock(t, "## Use", "go") + "}\n"
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run(app, "mod", "init", "example.com/app")
	run(app, "get", "github.com/errlog/errlog@v"+version)
	run(app, "build", "-o", filepath.Join(work, "app.bin"), ".")
}

// releaseVersion is the version the repository's modules require of each
// other (the next release; see CHANGELOG.md), and checks that no published
// go.mod has a replace directive.
func releaseVersion(t *testing.T) string {
	t.Helper()
	version := ""
	for _, m := range published {
		data, err := os.ReadFile(filepath.Join(m.dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := modfile.Parse(m.path+"/go.mod", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Replace) > 0 {
			t.Errorf("%s/go.mod has a replace directive: go install refuses it (go.work joins the modules)", m.dir)
		}
		for _, r := range f.Require {
			if !strings.HasPrefix(r.Mod.Path, "github.com/errlog/errlog") {
				continue
			}
			v := strings.TrimPrefix(r.Mod.Version, "v")
			if version != "" && v != version {
				t.Fatalf("%s requires %s %s, another module requires v%s: one release version", m.dir, r.Mod.Path, r.Mod.Version, version)
			}
			version = v
		}
	}
	if version == "" {
		t.Fatal("no module requires github.com/errlog/errlog")
	}
	return version
}

// writeProxyModule lays out one module version as a GOPROXY=file:// serves
// it: list, .info, .mod and .zip under the escaped module path.
func writeProxyModule(t *testing.T, proxy, path, dir, version string) {
	t.Helper()
	esc, err := module.EscapePath(path)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(proxy, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	v := "v" + version
	info, _ := json.Marshal(map[string]string{"Version": v, "Time": time.Now().UTC().Format(time.RFC3339)})
	// A copy of the module whose go.mod requires this tree's other
	// modules at v.
	stage := filepath.Join(t.TempDir(), "module")
	copyModule(t, dir, stage)
	f, err := modfile.Parse("go.mod", mustRead(t, filepath.Join(stage, "go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if strings.HasPrefix(r.Mod.Path, "github.com/errlog/errlog") {
			if err := f.AddRequire(r.Mod.Path, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	gomod, err := f.Format()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "go.mod"), gomod, 0o644); err != nil {
		t.Fatal(err)
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, module.Version{Path: path, Version: v}, stage); err != nil {
		t.Fatalf("zip %s: %v", path, err)
	}
	for name, data := range map[string][]byte{
		"list": []byte(v + "\n"), v + ".info": info, v + ".mod": gomod, v + ".zip": zip.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(base, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return string(out)
}

// copyModule copies the module in src to dst: its regular files, without
// .git and without the modules nested in it (folders with a go.mod).
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			if rel != "." {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return os.WriteFile(filepath.Join(dst, rel), mustRead(t, p), 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package dashboard

import (
	"strings"
)

// culpritView is a group's culprit ("pkg.Func (path/file.go:42)", as
// event.Event.Culprit makes it) split for display: the function, which
// may be cut on a narrow screen, and where, which is never cut: the file
// relative to its module, with the line.
type culpritView struct {
	Func  string
	Where string // "internal/pay/charge.go:42"; "" when the culprit has no location
	Full  string // the culprit as stored, for the title attribute
}

// Loc is the culprit of a list row, for display.
func (r groupRow) Loc() culpritView { return culpritOf(r.Culprit) }

// Loc is the culprit of the group, for display.
func (g *groupPage) Loc() culpritView { return culpritOf(g.G.Culprit) }

func culpritOf(c string) culpritView {
	v := culpritView{Func: c, Full: c}
	open := strings.LastIndex(c, " (")
	if open < 0 || !strings.HasSuffix(c, ")") {
		return v
	}
	fn, loc := c[:open], c[open+2:len(c)-1]
	colon := strings.LastIndexByte(loc, ':')
	if colon < 0 {
		return v
	}
	path, line := loc[:colon], loc[colon+1:]
	v.Func = fn
	v.Where = moduleRelative(fn, path)
	if line != "" && line != "0" {
		v.Where += ":" + line
	}
	return v
}

// moduleRelative returns path, the absolute path of a Go source file,
// relative to the root of the module of fn's package, as far as the two
// tell: the directories the path and the package path end with alike are
// the package's place in its module, less those that name the module
// itself (its repository's directory). A path that is not absolute (a
// module path already, "app:///main.js") is returned as it is.
func moduleRelative(fn, path string) string {
	p := strings.ReplaceAll(path, `\`, "/")
	abs := strings.HasPrefix(p, "/") || len(p) > 2 && p[1] == ':' && p[2] == '/'
	if !abs {
		return path
	}
	slash := strings.LastIndexByte(p, '/')
	dirs, file := strings.Split(strings.Trim(p[:slash], "/"), "/"), p[slash+1:]
	pkg := fn
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		if dot := strings.IndexByte(pkg[i:], '.'); dot >= 0 {
			pkg = pkg[:i+dot]
		}
	} else if dot := strings.IndexByte(pkg, '.'); dot >= 0 {
		pkg = pkg[:dot]
	}
	segs := strings.Split(pkg, "/")
	k := 0
	for k < len(segs) && k < len(dirs) && segs[len(segs)-1-k] == dirs[len(dirs)-1-k] {
		k++
	}
	if k == 0 {
		// package main, or a file outside its package's directory: the
		// file with its directory.
		if len(dirs) > 0 && dirs[len(dirs)-1] != "" {
			return dirs[len(dirs)-1] + "/" + file
		}
		return file
	}
	// A module path on a host ("github.com/acme/shop") has three
	// elements; matched directories among them are the module's own
	// (the checkout's directory), not a place inside it.
	if strings.Contains(segs[0], ".") {
		if inModule := len(segs) - 3; inModule < k {
			k = max(inModule, 0)
		}
	}
	rel := strings.Join(dirs[len(dirs)-k:], "/")
	if rel == "" {
		return file
	}
	return rel + "/" + file
}

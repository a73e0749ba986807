package errlog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestExportsDocumented fails, listing them, when an exported identifier of
// the root package, event/, logfile/ or tracker/ has no doc comment: a package-level const,
// var, func or type, a method of an exported type, an exported field of an
// exported struct, or a method of an exported interface. pkg.go.dev shows
// these comments, so an undocumented export is a gap in the reference.
func TestExportsDocumented(t *testing.T) {
	for _, dir := range []string{".", "event", "logfile", "tracker"} {
		missing, err := undocumentedExports(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Errorf("%s: %d exported identifiers without a doc comment:\n\t%s",
				dir, len(missing), strings.Join(missing, "\n\t"))
		}
	}
}

// TestUndocumentedExportsFound checks the checker: an undocumented export of
// each kind is reported, a documented one or an unexported one is not.
func TestUndocumentedExportsFound(t *testing.T) {
	dir := t.TempDir()
	src := `// Package p is a package.
package p

// A is documented.
const A = 1

const B = 2

// Group doc covers both.
const (
	C = 3
	D = 4
)

var E = 5

func F() {}

// G is documented.
func G() {}

type H struct {
	// I is documented.
	I int
	J int
	k int
	// L and M share a comment.
	L, M int
	N, o int // N has a line comment.
	// P and Q share this comment, R does not.
	P int
	Q int

	R int
	// S is documented alone.
	S  int
	SS int
}

func (H) Method() {}

func (*H) method() {}

// T is documented.
type T interface {
	Do()
	// Done is documented.
	Done()
}

type hidden struct{ X int }

func (hidden) Exported() {}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := undocumentedExports(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"B", "E", "F", "H", "H.J", "H.Method", "H.R", "H.SS", "T.Do"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("undocumentedExports = %q, want %q", got, want)
	}
}

// undocumentedExports parses the non-test Go files of dir (all build tags:
// a go1.23-only file exports as much as any other) and returns the exported
// identifiers that have no doc comment, sorted. A line comment after a
// field or a doc comment on its const/var group counts as documentation, as
// godoc shows them.
func undocumentedExports(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	exportedTypes := map[string]bool{}
	{
		for _, f := range files {
			for _, d := range f.Decls {
				if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
					for _, s := range g.Specs {
						if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
							exportedTypes[ts.Name.Name] = true
						}
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	var missing []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			missing = append(missing, name)
		}
	}
	{
		for _, f := range files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					name := d.Name.Name
					if d.Recv != nil {
						recv := receiverType(d.Recv.List[0].Type)
						if !exportedTypes[recv] {
							continue
						}
						name = recv + "." + name
					}
					if d.Doc == nil {
						add(name)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
									add(n.Name)
								}
							}
						case *ast.TypeSpec:
							if !s.Name.IsExported() {
								continue
							}
							if s.Doc == nil && (d.Doc == nil || d.Lparen.IsValid()) {
								add(s.Name.Name)
							}
							checkMembers(fset, s, add)
						}
					}
				}
			}
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// checkMembers reports the undocumented exported fields of a struct type
// and methods of an interface type. A field without a comment of its own
// is documented when it directly follows (no blank line between) a field
// whose doc comment names it, as in
//
//	// MinBackoff and MaxBackoff bound the wait between retries.
//	MinBackoff time.Duration
//	MaxBackoff time.Duration
func checkMembers(fset *token.FileSet, s *ast.TypeSpec, add func(string)) {
	var fields *ast.FieldList
	switch t := s.Type.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return
	}
	sharedDoc, prevEnd := "", -1
	for _, f := range fields.List {
		if f.Doc != nil {
			sharedDoc = f.Doc.Text()
		} else if fset.Position(f.Pos()).Line != prevEnd+1 {
			sharedDoc = ""
		}
		prevEnd = fset.Position(f.End()).Line
		if f.Doc != nil || f.Comment != nil {
			continue
		}
		for _, n := range f.Names {
			if n.IsExported() && !namesWord(sharedDoc, n.Name) {
				add(s.Name.Name + "." + n.Name)
			}
		}
	}
}

// namesWord reports whether text contains word as a whole word.
func namesWord(text, word string) bool {
	isWord := func(b byte) bool {
		return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !isWord(text[j-1])) && (end == len(text) || !isWord(text[end])) {
			return true
		}
		i = end
	}
}

// receiverType is the name of a method's receiver type, without the
// pointer or type parameters.
func receiverType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

package delivery

import (
	"os"
	"path/filepath"
	"testing"
)

// Two owners given one spool directory each get their own; the same
// owner finds its own again; a spool from before owner files is adopted
// by the first owner that opens it.
func TestOwnedDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "tracker")
	shop := OwnedDir(dir, "shopkey/1")
	if shop != dir {
		t.Fatalf("the first owner got %s, want %s", shop, dir)
	}
	blog := OwnedDir(dir, "blogkey/2")
	if blog == dir || filepath.Dir(blog) != base {
		t.Fatalf("a second owner got %s: want a directory of its own beside %s", blog, dir)
	}
	if again := OwnedDir(dir, "blogkey/2"); again != blog {
		t.Errorf("the second owner again got %s, want %s", again, blog)
	}
	if again := OwnedDir(dir, "shopkey/1"); again != dir {
		t.Errorf("the first owner again got %s, want %s", again, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil || len(b) == 0 {
		t.Fatalf("owner file: %q, %v", b, err)
	}
	if string(b) == "shopkey/1\n" {
		t.Error("the owner file holds the owner itself, not its hash")
	}

	old := filepath.Join(base, "mail") // spooled by a version before owner files
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := OwnedDir(old, "ops@example.com"); got != old {
		t.Errorf("a spool without an owner file went to %s, want it adopted: %s", got, old)
	}
	if OwnedDir("", "x") != "" {
		t.Error("no spool directory is none")
	}
}

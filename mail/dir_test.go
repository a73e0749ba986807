package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/mail"
)

// The directory transport writes each mail as an .eml file named by the
// clock and the Message-ID, creating the directory; its errors are the
// file system's, never SMTP's.
func TestDirTransport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mails")
	now := time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)
	tr, err := mail.NewTransport(mail.Options{Dir: dir}, mail.Env{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m := message("ops@example.com")
	m.ID = "<abc-123@web-1>"
	if err := tr.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 1 || filepath.Base(names[0]) != "20240501T140000.000000000Z-abc-123.eml" {
		t.Fatalf("files %v", names)
	}
	if data, _ := os.ReadFile(names[0]); string(data) != string(m.Data) {
		t.Errorf("file holds %q", data)
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil { // a file where the directory was
		t.Fatal(err)
	}
	err = tr.Send(ctx, m)
	if err == nil || strings.Contains(strings.ToLower(err.Error()), "smtp") {
		t.Errorf("a directory that is a file: %v", err)
	}
	if _, err := mail.NewTransport(mail.Options{Dir: filepath.Join(dir, "sub")}, mail.Env{}); err == nil || strings.Contains(err.Error(), "smtp") {
		t.Errorf("a directory that cannot be made: %v", err)
	}
}

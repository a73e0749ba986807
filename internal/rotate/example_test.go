package rotate_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/errlog/errlog/internal/rotate"
)

// printDir shows each file with its content.
func printDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %q\n", e.Name(), b)
	}
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "rotate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, err := rotate.Open(rotate.Options{
		Path:       filepath.Join(dir, "app.log"),
		MaxSize:    20, // bytes: the second record does not fit
		MaxBackups: -1,
		Now:        func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(w, "first record")
	fmt.Fprintln(w, "second record")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	printDir(dir)
	// Output:
	// app-2024-05-01T12-00-00.000.log: "first record\n"
	// app.log: "second record\n"
}

func ExampleWriter_Rotate() {
	dir, err := os.MkdirTemp("", "rotate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	w, err := rotate.Open(rotate.Options{
		Path: filepath.Join(dir, "app.log"),
		Now:  func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	fmt.Fprintln(w, "before")
	// For instance on SIGHUP, so that an operator can ship the backup.
	if err := w.Rotate(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(w, "after")
	printDir(dir)
	// Output:
	// app-2024-05-01T12-00-00.000.log: "before\n"
	// app.log: "after\n"
}

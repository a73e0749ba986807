package main

import (
	"path/filepath"
	"strings"
)

// freeCheck is ingest's probe of the free space where the SQLite file
// is: none for PostgreSQL, and none with -min-free-mb 0, which asks for
// no minimum (ingest's MinFree of 0 would be its default, 256 MiB).
func (c *config) freeCheck() func() (uint64, error) {
	if strings.Contains(c.db, "://") || c.minFreeMB == 0 {
		return nil
	}
	dir := filepath.Dir(c.db)
	return func() (uint64, error) { return freeSpace(dir) }
}

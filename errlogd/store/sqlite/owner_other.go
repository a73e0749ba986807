//go:build !unix || solaris || aix

package sqlite

// own: without flock, no Open is known to be the only writer, and none
// owes counts (see sqlstore's Owed counts).
func own(path string) (release func(), ok bool) { return func() {}, false }

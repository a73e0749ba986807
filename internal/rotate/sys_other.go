//go:build !unix

package rotate

import "os"

// openFIFO: no FIFOs to open without blocking here.
const openFIFO = 0

// unlinked: a file open here cannot be deleted.
func unlinked(*os.File) bool { return false }

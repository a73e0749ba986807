//go:build !go1.23

package errlog

import "net/http"

// routeOf: http.Request.Pattern arrived in Go 1.23.
func routeOf(r *http.Request) string { return "" }

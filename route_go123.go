//go:build go1.23

package errlog

import "net/http"

// routeOf returns the ServeMux pattern that matched r ("GET /users/{id}"),
// which groups a route's errors better than its many URLs.
func routeOf(r *http.Request) string { return r.Pattern }

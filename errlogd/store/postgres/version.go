package postgres

import (
	"io/fs"

	"github.com/errlog/errlog/errlogd/store/sqlstore"
)

// Schema is the newest schema version this binary writes: a database
// whose schema is newer is refused (*sqlstore.SchemaError).
func Schema() int {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Latest(sub)
}

package source

import "github.com/weft-dev/weft/catalog"

// SetBeforeSave installs a hook that runs before s persists a snapshot.
func SetBeforeSave(s *Set, f func(*catalog.Snapshot)) { s.beforeSave = f }

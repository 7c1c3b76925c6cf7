package meter

import "unsafe"

// view returns b as a string without copying it.
//
// gjson.GetBytes copies its input to be safe; the hot path uses gjson.Get on a
// view instead. The string aliases b: it (and any substring of it, such as a
// gjson.Result's Raw or Str) must not be kept after b is next written to. Use
// strings.Clone for anything stored.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

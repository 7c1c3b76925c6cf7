package limits

import (
	"cmp"
	"slices"
)

// sortStatus orders a client's limits for display: by kind, then model
// pattern, then name.
func sortStatus(s []Status) {
	slices.SortFunc(s, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Name, b.Name))
	})
}

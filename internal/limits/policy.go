package limits

import (
	"errors"
	"fmt"
	"path"
	"sync"
)

// ErrUnknownTier is the error of Applicable for a tier the configuration
// does not define: the handler refuses the request (403), because a
// misspelt tier must not lift a client's limits.
var ErrUnknownTier = errors.New("unknown tier")

// Policy is a compiled Config: which limits apply to a request. It is safe
// for concurrent use.
type Policy struct {
	onError OnError
	tiers   map[string][]Applied // names are suffixes
	clients map[string][]Applied

	mu    sync.RWMutex
	cache map[cacheKey][]Applied
}

type cacheKey struct{ client, tier, model string }

// maxCached bounds the cache of Applicable: past it, the cache starts over,
// which costs one resolution per (client, tier, model) again.
const maxCached = 16384

// OnError is what to do when the shared counters cannot be reached.
func (p *Policy) OnError() OnError { return p.onError }

// Applicable returns the limits that apply to a request of client, in tier
// (DefaultTier when empty), for model: the tier's own limits, those of its
// model patterns that match the model, with the client's limits (its own
// and its matching patterns') replacing the tier's of the same kind and
// pattern, and added where the tier has none. The result is shared and
// must not be modified; each Applied's Name is the client's counter.
func (p *Policy) Applicable(client, tier, model string) ([]Applied, error) {
	if tier == "" {
		tier = DefaultTier
	}
	if client == "" {
		client = Anonymous
	}
	k := cacheKey{client, tier, model}
	p.mu.RLock()
	limits, ok := p.cache[k]
	p.mu.RUnlock()
	if ok {
		return limits, nil
	}
	tierLimits, ok := p.tiers[tier]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTier, tier)
	}
	limits = resolve(client, tierLimits, p.clients[client], model)
	p.mu.Lock()
	if len(p.cache) >= maxCached {
		clear(p.cache)
	}
	p.cache[k] = limits
	p.mu.Unlock()
	return limits, nil
}

func resolve(client string, tier, overrides []Applied, model string) []Applied {
	out := make([]Applied, 0, len(tier)+len(overrides))
	for _, a := range tier {
		if matches(a.Model, model) && !overridden(a, overrides, model) {
			out = append(out, a)
		}
	}
	for _, a := range overrides {
		if matches(a.Model, model) {
			out = append(out, a)
		}
	}
	for i := range out {
		out[i].Name = counterName(client, &out[i])
	}
	return out
}

func overridden(a Applied, overrides []Applied, model string) bool {
	for _, o := range overrides {
		if o.Kind == a.Kind && o.Model == a.Model && matches(o.Model, model) {
			return true
		}
	}
	return false
}

// Matches reports whether model matches a limit's model pattern, as
// Applicable decides it; the ledger's seeding sums spend with it.
func Matches(pattern, model string) bool { return matches(pattern, model) }

func matches(pattern, model string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, model) // checked by Compile
	return ok
}

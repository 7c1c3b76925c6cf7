package limits

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// DefaultTier is the tier of clients whose tier is not given. It always
// exists: when the configuration does not define it, it has no limits.
const DefaultTier = "default"

// Anonymous is the client of requests whose key resolves to nothing: they
// share one set of counters.
const Anonymous = "anonymous"

// Compile checks cfg and resolves everything a request needs (windows,
// periods, zones, micro-USD) once, so that Applicable only matches and
// names. Its errors name the tier or client, the model pattern and the
// setting: `tier "default": tokens: per: ...`.
func Compile(cfg Config) (*Policy, error) {
	p := &Policy{
		tiers:   make(map[string][]Applied, len(cfg.Tiers)+1),
		clients: make(map[string][]Applied, len(cfg.Clients)),
		cache:   make(map[cacheKey][]Applied),
	}
	switch cfg.OnError {
	case "", "local":
		p.onError = OnErrorLocal
	case "open":
		p.onError = OnErrorOpen
	case "closed":
		p.onError = OnErrorClosed
	default:
		return nil, fmt.Errorf("on_error: %q is not local, open or closed", cfg.OnError)
	}
	for _, name := range sortedKeys(cfg.Tiers) {
		if strings.TrimSpace(name) == "" {
			return nil, errors.New("tier: empty name")
		}
		limits, err := compileSet(cfg.Tiers[name])
		if err != nil {
			return nil, fmt.Errorf("tier %q: %w", name, err)
		}
		p.tiers[name] = limits
	}
	if _, ok := p.tiers[DefaultTier]; !ok {
		p.tiers[DefaultTier] = nil
	}
	for _, name := range sortedKeys(cfg.Clients) {
		if name == "" {
			return nil, errors.New("client: empty name")
		}
		limits, err := compileSet(cfg.Clients[name])
		if err != nil {
			return nil, fmt.Errorf("client %q: %w", name, err)
		}
		p.clients[name] = limits
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compileSet resolves a set's limits and its model sets' into one list;
// each limit's Name is its counter name's suffix (nameSuffix), to which
// Applicable prepends the client.
func compileSet(s Set) ([]Applied, error) {
	out, err := compileLimits("", s.Requests, s.Tokens, s.Concurrent, s.USD)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, m := range s.Models {
		if m.Match == "" {
			return nil, errors.New("model: empty pattern")
		}
		if _, err := path.Match(m.Match, "gpt-4o-mini"); err != nil {
			return nil, fmt.Errorf("model %q: bad pattern: %w", m.Match, err)
		}
		if seen[m.Match] {
			return nil, fmt.Errorf("model %q: given twice", m.Match)
		}
		seen[m.Match] = true
		limits, err := compileLimits(m.Match, m.Requests, m.Tokens, m.Concurrent, m.USD)
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", m.Match, err)
		}
		if len(limits) == 0 {
			return nil, fmt.Errorf("model %q: no limits", m.Match)
		}
		out = append(out, limits...)
	}
	return out, nil
}

func compileLimits(model string, requests, tokens *Rate, concurrent int, usd *Budget) ([]Applied, error) {
	var out []Applied
	add := func(a Applied) {
		a.Model = model
		a.Name = nameSuffix(&a)
		out = append(out, a)
	}
	if requests != nil {
		a, err := compileRate(Requests, requests)
		if err != nil {
			return nil, fmt.Errorf("requests: %w", err)
		}
		add(a)
	}
	if tokens != nil {
		a, err := compileRate(Tokens, tokens)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		add(a)
	}
	switch {
	case concurrent < 0:
		return nil, fmt.Errorf("concurrent: %d: must be positive", concurrent)
	case concurrent > 1_000_000:
		return nil, fmt.Errorf("concurrent: %d: too many", concurrent)
	case concurrent > 0:
		add(Applied{Kind: Concurrent, Limit: int64(concurrent)})
	}
	if usd != nil {
		a, err := compileBudget(usd)
		if err != nil {
			return nil, fmt.Errorf("usd: %w", err)
		}
		add(a)
	}
	return out, nil
}

func compileRate(k Kind, r *Rate) (Applied, error) {
	a := Applied{Kind: k, Limit: r.Limit}
	if r.Limit <= 0 {
		return a, fmt.Errorf("limit: %d: must be positive", r.Limit)
	}
	if r.Per == "" {
		return a, errors.New("per: missing (a window such as 1m)")
	}
	if _, ok := parsePeriod(r.Per); ok {
		return a, fmt.Errorf("per: %q is a calendar period, and rate limits slide: use a window such as 1d", r.Per)
	}
	w, err := parseWindow(r.Per)
	if err != nil {
		return a, fmt.Errorf("per: %w", err)
	}
	a.Window = w
	switch r.Count {
	case "", "total":
		a.Count = CountTotal
	case "input":
		a.Count = CountInput
	case "output":
		a.Count = CountOutput
	default:
		return a, fmt.Errorf("count: %q is not input, output or total", r.Count)
	}
	if k != Tokens && r.Count != "" {
		return a, errors.New("count: only token limits count tokens")
	}
	return a, nil
}

func compileBudget(b *Budget) (Applied, error) {
	a := Applied{Kind: USD, Hard: b.Hard}
	m, err := microUSD(b.USD)
	if err != nil {
		return a, fmt.Errorf("limit: %w", err)
	}
	a.Limit = m
	if b.Per == "" {
		return a, errors.New("per: missing (day, week, month, or a window such as 30d)")
	}
	if p, ok := parsePeriod(b.Per); ok {
		a.Period = p
		a.Location = time.UTC
		if b.TimeZone != "" {
			loc, err := time.LoadLocation(b.TimeZone)
			if err != nil {
				return a, fmt.Errorf("time_zone: %q: %w", b.TimeZone, err)
			}
			a.Location = loc
		}
		return a, nil
	}
	if b.TimeZone != "" {
		return a, fmt.Errorf("time_zone: applies to calendar periods (day, week, month), not %q", b.Per)
	}
	w, err := parseWindow(b.Per)
	if err != nil {
		return a, fmt.Errorf("per: %w", err)
	}
	a.Window = w
	return a, nil
}

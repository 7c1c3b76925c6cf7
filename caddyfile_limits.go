package llmrouter

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-llm/llmrouter/internal/limits"
)

// unmarshalLimits parses a `limits { ... }` block:
//
//	limits {
//	    key       <placeholder>
//	    tier_from <placeholder>
//	    on_error  local|open|closed
//	    tier <name> {
//	        requests   <n> per <window>
//	        tokens     <n> per <window> [count input|output|total]
//	        concurrent <n>
//	        usd        <amount> per <day|week|month|window> [hard] [time_zone <zone>]
//	        model <pattern> {
//	            ... the same limits ...
//	        }
//	    }
//	    client <name> {
//	        ... as a tier ...
//	    }
//	}
//
// Numbers take k and m suffixes (200k); windows are durations with a d
// suffix allowed (1m, 1h, 30d). Values are checked where they are known
// here; limits.Compile checks the rest.
func unmarshalLimits(d *caddyfile.Dispenser) (*limits.Config, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	cfg := &limits.Config{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch name := d.Val(); name {
		case "key", "tier_from", "on_error":
			dst := map[string]*string{"key": &cfg.Key, "tier_from": &cfg.TierFrom, "on_error": &cfg.OnError}[name]
			if !d.AllArgs(dst) {
				return nil, d.ArgErr()
			}
		case "tier", "client":
			var id string
			if !d.AllArgs(&id) {
				return nil, d.Errf("%s: want `%s <name> { ... }`", name, name)
			}
			set, err := unmarshalLimitSet(d, name+" "+strconv.Quote(id))
			if err != nil {
				return nil, err
			}
			m := &cfg.Tiers
			if name == "client" {
				m = &cfg.Clients
			}
			if *m == nil {
				*m = make(map[string]limits.Set)
			}
			if _, dup := (*m)[id]; dup {
				return nil, d.Errf("%s %q: declared twice", name, id)
			}
			(*m)[id] = set
		default:
			return nil, d.Errf("limits: unrecognized setting %q", name)
		}
	}
	return cfg, nil
}

// unmarshalLimitSet parses the block of a tier or client.
func unmarshalLimitSet(d *caddyfile.Dispenser, where string) (limits.Set, error) {
	var set limits.Set
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() == "model" {
			var pattern string
			if !d.AllArgs(&pattern) {
				return set, d.Errf("%s: model: want `model <pattern> { ... }`", where)
			}
			ms := limits.ModelSet{Match: pattern}
			inner := where + ": model " + strconv.Quote(pattern)
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				if err := unmarshalLimit(d, inner, &ms.Requests, &ms.Tokens, &ms.Concurrent, &ms.USD); err != nil {
					return set, err
				}
			}
			set.Models = append(set.Models, ms)
			continue
		}
		if err := unmarshalLimit(d, where, &set.Requests, &set.Tokens, &set.Concurrent, &set.USD); err != nil {
			return set, err
		}
	}
	return set, nil
}

// unmarshalLimit parses one limit line into the field of its kind.
func unmarshalLimit(d *caddyfile.Dispenser, where string, requests, tokens **limits.Rate, concurrent *int, usd **limits.Budget) error {
	name := d.Val()
	args := d.RemainingArgs()
	errf := func(format string, a ...any) error {
		return d.Errf("%s: %s: "+format, append([]any{where, name}, a...)...)
	}
	switch name {
	case "requests", "tokens":
		// <n> per <window> [count input|output|total]
		if len(args) != 3 && len(args) != 5 || args[1] != "per" {
			return errf("want `%s <n> per <window>`", name)
		}
		n, err := limits.ParseQuantity(args[0])
		if err != nil {
			return errf("%v", err)
		}
		rate := &limits.Rate{Limit: n, Per: args[2]}
		if len(args) == 5 {
			if name != "tokens" || args[3] != "count" {
				return errf("unexpected %q", strings.Join(args[3:], " "))
			}
			rate.Count = args[4]
		}
		dst := requests
		if name == "tokens" {
			dst = tokens
		}
		if *dst != nil {
			return errf("set twice")
		}
		*dst = rate
	case "concurrent":
		if len(args) != 1 {
			return errf("want `concurrent <n>`")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 {
			return errf("want a whole number of 1 or more, got %q", args[0])
		}
		*concurrent = n
	case "usd":
		// <amount> per <period> [hard] [time_zone <zone>]
		if len(args) < 3 || args[1] != "per" {
			return errf("want `usd <amount> per <day|week|month|window> [hard] [time_zone <zone>]`")
		}
		amount, err := limits.ParseUSD(args[0])
		if err != nil {
			return errf("%v", err)
		}
		b := &limits.Budget{USD: amount, Per: args[2]}
		for rest := args[3:]; len(rest) > 0; {
			switch {
			case rest[0] == "hard":
				b.Hard, rest = true, rest[1:]
			case rest[0] == "time_zone" && len(rest) >= 2:
				b.TimeZone, rest = rest[1], rest[2:]
			default:
				return errf("unexpected %q", strings.Join(rest, " "))
			}
		}
		if *usd != nil {
			return errf("set twice")
		}
		*usd = b
	default:
		return d.Errf("%s: unrecognized limit %q (want requests, tokens, concurrent, usd or model)", where, name)
	}
	return nil
}

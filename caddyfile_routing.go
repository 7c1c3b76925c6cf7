package llmrouter

import (
	"math"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalRoutingPolicy parses a `routing_policy { ... }` block (see
// UnmarshalCaddyfile).
func unmarshalRoutingPolicy(d *caddyfile.Dispenser) (*RoutingPolicy, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	rp := new(RoutingPolicy)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		switch name {
		case "only", "ignore":
			entries := d.RemainingArgs()
			if len(entries) == 0 {
				return nil, d.ArgErr()
			}
			if name == "only" {
				rp.Only = append(rp.Only, entries...)
			} else {
				rp.Ignore = append(rp.Ignore, entries...)
			}
		case "max_price":
			args := d.RemainingArgs()
			if len(args) == 0 || len(args)%2 != 0 {
				return nil, d.Errf("max_price: want [prompt <usd>] [completion <usd>]")
			}
			if rp.MaxPrice == nil {
				rp.MaxPrice = new(MaxPrice)
			}
			for i := 0; i < len(args); i += 2 {
				usd, err := parseUSD(args[i+1])
				if err != nil {
					return nil, d.Errf("max_price %s: %v", args[i], err)
				}
				switch args[i] {
				case "prompt":
					rp.MaxPrice.Prompt = &usd
				case "completion":
					rp.MaxPrice.Completion = &usd
				default:
					return nil, d.Errf("max_price: unknown price %q (want prompt or completion)", args[i])
				}
			}
		case "max_cost_usd":
			var s string
			if !d.AllArgs(&s) {
				return nil, d.ArgErr()
			}
			usd, err := parseUSD(s)
			if err != nil || usd == 0 {
				return nil, d.Errf("max_cost_usd: want an amount above 0, got %q", s)
			}
			rp.MaxCostUSD = usd
		case "client_preferences":
			var s string
			if !d.AllArgs(&s) || (s != "on" && s != "off") {
				return nil, d.Errf("client_preferences: want on or off")
			}
			on := s == "on"
			rp.ClientPreferences = &on
		default:
			return nil, d.Errf("unrecognized routing_policy setting %q", name)
		}
	}
	return rp, nil
}

// parseUSD reads an amount of dollars of 0 or more.
func parseUSD(s string) (float64, error) {
	usd, err := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
	if err != nil || usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return 0, strconv.ErrSyntax
	}
	return usd, nil
}

// unmarshalHedge parses a `hedge { ... }` block (see UnmarshalCaddyfile).
func unmarshalHedge(d *caddyfile.Dispenser) (*HedgeConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	hc := new(HedgeConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		switch name {
		case "after":
			// after p<q> [min <d>] [max <d>]
			args := d.RemainingArgs()
			if len(args) == 0 || len(args)%2 != 1 {
				return nil, d.Errf("after: want p<quantile> [min <duration>] [max <duration>]")
			}
			q, err := strconv.ParseFloat(strings.TrimPrefix(args[0], "p"), 64)
			if !strings.HasPrefix(args[0], "p") || err != nil || q < 50 || q >= 100 {
				return nil, d.Errf("after: want a quantile from p50 to p99.9, got %q", args[0])
			}
			hc.Quantile = q / 100
			for i := 1; i < len(args); i += 2 {
				dur, err := caddy.ParseDuration(args[i+1])
				if err != nil || dur <= 0 {
					return nil, d.Errf("after: %s: invalid duration %q", args[i], args[i+1])
				}
				switch args[i] {
				case "min":
					hc.Min = caddy.Duration(dur)
				case "max":
					hc.Max = caddy.Duration(dur)
				default:
					return nil, d.Errf("after: unknown bound %q (want min or max)", args[i])
				}
			}
		case "max":
			var s string
			if !d.AllArgs(&s) {
				return nil, d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n != 1 {
				return nil, d.Errf("max: only 1 extra attempt is supported, got %q", s)
			}
			hc.MaxExtra = n
		case "budget":
			var s string
			if !d.AllArgs(&s) {
				return nil, d.ArgErr()
			}
			share, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if strings.HasSuffix(s, "%") {
				share /= 100
			}
			if err != nil || math.IsNaN(share) || share < 0 || share > 1 {
				return nil, d.Errf("budget: want a share from 0 to 1 (or 0%% to 100%%), got %q", s)
			}
			hc.Budget = &share
		default:
			return nil, d.Errf("unrecognized hedge setting %q", name)
		}
	}
	return hc, nil
}

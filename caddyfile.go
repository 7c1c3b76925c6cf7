package llmrouter

import (
	"math"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_router", parseCaddyfile)
	// Before reverse_proxy, so that users need no `order` line and a
	// reverse_proxy in the same site still serves everything else.
	httpcaddyfile.RegisterDirectiveOrder("llm_router", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	r := new(LLMRouter)
	err := r.UnmarshalCaddyfile(h.Dispenser)
	return r, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_router [<matcher>] {
//	    routing          price|perf|perf-avg|ttft|throughput
//	    routing_policy {
//	        only <vendor|kind:<kind>|tag:<tag>>...
//	        ignore <vendor|kind:<kind>|tag:<tag>>...
//	        max_price [prompt <usd>] [completion <usd>]
//	        max_cost_usd <usd>
//	        client_preferences on|off
//	    }
//	    hedge {
//	        after p<quantile> [min <duration>] [max <duration>]
//	        max 1
//	        budget <share>%
//	    }
//	    vendor_header    <name>
//	    response_id_key  <key>
//	    max_request_body <size>
//	    write_buffer     <size>
//	    ttft_timeout     <duration>
//	    stream_idle_timeout <duration>
//	    request_body_timeout <duration>
//	    retries          <n>
//	    path_prefix      <prefix>
//	    ledger_key       <placeholder>
//	    ledger sqlite [<path>] | postgres <dsn> | memory | off
//	    ledger_flush_interval <duration>       # 0 = synchronous writes
//	    ledger_retention <duration>
//	    limits { ... }                       # see unmarshalLimits
//	    shared redis [<address>] {
//	        address <host:port|redis://…|rediss://…>
//	        username <user>
//	        password <password>
//	        db <n>
//	        tls [<server_name>]
//	        key_prefix <prefix>
//	        dial_timeout <duration>
//	        timeout <duration>
//	        sync_interval <duration>
//	    }
//
//	    half_life         <duration>
//	    exploration       <share>
//	    stale_after       <duration>
//	    failure_threshold <n>
//	    cooldown          <base> [<max>]
//	    quota_cooldown    <duration>
//
//	    vendor <id> [<kind>] {
//	        base_url    <url>
//	        api_key     <key>
//	        api_version <version>
//	        header      <name> <value>
//	        region <region>                   # aws, vertex
//	        access_key_id <id>                # aws SigV4 (also secret_access_key, session_token)
//	        project <id>                      # vertex
//	        credentials_file <path>           # vertex service account key
//	        max_tokens <n>                    # anthropic, aws, vertex Claude: default max_tokens
//	        api native|openai                 # google
//	        probe off|models|completion [interval <duration>]
//	        tags <tag>...                     # for routing preferences: tag:<tag>
//	        model <name> [as <vendor_model>] [input <usd>] [output <usd>] [cached_input <usd>]
//	    }
//	}
//
// Prices are USD per 1M tokens. `vendor` and `model` may repeat.
func (h *LLMRouter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "routing":
			if !d.AllArgs(&h.Routing) {
				return d.ArgErr()
			}
		case "vendor_header":
			if !d.AllArgs(&h.VendorHeader) {
				return d.ArgErr()
			}
		case "response_id_key":
			if !d.AllArgs(&h.ResponseIDKey) {
				return d.ArgErr()
			}
		case "max_request_body":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > 1<<40 {
				return d.Errf("max_request_body: invalid size %q", s)
			}
			h.MaxRequestBody = int64(size)
		case "write_buffer":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > maxWriteBufferSize {
				return d.Errf("write_buffer: invalid size %q (want 1 byte to 16MiB)", s)
			}
			h.WriteBufferSize = int(size)
		case "retries":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return d.Errf("retries: want a whole number of 0 or more, got %q", s)
			}
			h.Retries = &n
		case "ledger_key":
			if !d.AllArgs(&h.LedgerKey) {
				return d.ArgErr()
			}
		case "ledger":
			if err := unmarshalLedger(d, h.ledgerConfig()); err != nil {
				return err
			}
		case "ledger_flush_interval":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur < 0 {
				return d.Errf("ledger_flush_interval: invalid duration %q (0 writes synchronously)", s)
			}
			flush := caddy.Duration(dur)
			h.ledgerConfig().FlushInterval = &flush
		case "ledger_retention":
			if err := unmarshalDuration(d, &h.ledgerConfig().Retention); err != nil {
				return err
			}
		case "shared":
			if err := h.unmarshalShared(d); err != nil {
				return err
			}
		case "routing_policy":
			rp, err := unmarshalRoutingPolicy(d)
			if err != nil {
				return err
			}
			h.RoutingPolicy = rp
		case "hedge":
			hc, err := unmarshalHedge(d)
			if err != nil {
				return err
			}
			h.Hedge = hc
		case "limits":
			lc, err := unmarshalLimits(d)
			if err != nil {
				return err
			}
			h.Limits = lc
		case "path_prefix":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			h.PathPrefix = &s
		case "ttft_timeout", "stream_idle_timeout", "request_body_timeout", "half_life", "stale_after", "quota_cooldown":
			if err := unmarshalDuration(d, h.durationField(d.Val())); err != nil {
				return err
			}
		case "cooldown":
			// cooldown <base> [<max>]
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			for i, dst := range []*caddy.Duration{&h.CooldownBase, &h.CooldownMax}[:len(args)] {
				dur, err := caddy.ParseDuration(args[i])
				if err != nil || dur <= 0 {
					return d.Errf("cooldown: invalid duration %q", args[i])
				}
				*dst = caddy.Duration(dur)
			}
		case "exploration":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			share, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if strings.HasSuffix(s, "%") {
				share /= 100
			}
			if err != nil || math.IsNaN(share) || share < 0 || share > 1 {
				return d.Errf("exploration: want a share from 0 to 1 (or 0%% to 100%%), got %q", s)
			}
			h.Exploration = &share
		case "failure_threshold":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return d.Errf("failure_threshold: want a whole number of 1 or more, got %q", s)
			}
			h.FailureThreshold = n
		case "vendor":
			vc, err := unmarshalVendor(d)
			if err != nil {
				return err
			}
			h.Vendors = append(h.Vendors, vc)
		default:
			return d.Errf("unrecognized llm_router subdirective %q", d.Val())
		}
	}
	return nil
}

// ledgerConfig returns the handler's ledger settings, creating them.
func (h *LLMRouter) ledgerConfig() *LedgerConfig {
	if h.Ledger == nil {
		h.Ledger = new(LedgerConfig)
	}
	return h.Ledger
}

// unmarshalLedger parses `ledger sqlite [<path>] | postgres <dsn> | memory | off`.
func unmarshalLedger(d *caddyfile.Dispenser, lc *LedgerConfig) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	lc.Backend = args[0]
	switch {
	case args[0] == LedgerSQLite && len(args) <= 2:
		if len(args) == 2 {
			lc.Path = args[1]
		}
	case args[0] == LedgerPostgres && len(args) == 2:
		lc.DSN = args[1]
	case (args[0] == LedgerMemory || args[0] == LedgerOff) && len(args) == 1:
	case args[0] == LedgerPostgres:
		return d.Errf("ledger postgres: want one connection string, got %d arguments", len(args)-1)
	case args[0] == LedgerSQLite || args[0] == LedgerMemory || args[0] == LedgerOff:
		return d.ArgErr()
	default:
		return d.Errf("ledger: unknown backend %q (want %s, %s, %s or %s)", args[0],
			LedgerSQLite, LedgerPostgres, LedgerMemory, LedgerOff)
	}
	return nil
}

// unmarshalShared parses `shared redis [<address>] { ... }`.
func (h *LLMRouter) unmarshalShared(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 || args[0] != "redis" || len(args) > 2 {
		return d.Errf("shared: want `shared redis [<address>] { ... }`")
	}
	rc := new(RedisConfig)
	if len(args) == 2 {
		rc.Address = args[1]
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		switch name {
		case "address", "username", "password", "key_prefix":
			dst := map[string]*string{"address": &rc.Address, "username": &rc.Username,
				"password": &rc.Password, "key_prefix": &rc.KeyPrefix}[name]
			if !d.AllArgs(dst) {
				return d.ArgErr()
			}
		case "db":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return d.Errf("db: want a database number of 0 or more, got %q", s)
			}
			rc.DB = n
		case "tls":
			rc.TLS = true
			args := d.RemainingArgs()
			if len(args) > 1 {
				return d.ArgErr()
			}
			if len(args) == 1 {
				rc.TLSServerName = args[0]
			}
		case "dial_timeout", "timeout", "sync_interval":
			dst := map[string]*caddy.Duration{"dial_timeout": &rc.DialTimeout, "timeout": &rc.Timeout,
				"sync_interval": &rc.SyncInterval}[name]
			if err := unmarshalDuration(d, dst); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized shared redis setting %q", name)
		}
	}
	if rc.Address == "" {
		return d.Errf("shared redis: address is required")
	}
	h.Shared = &SharedConfig{Redis: rc}
	return nil
}

// durationField returns the handler field a duration subdirective sets.
func (h *LLMRouter) durationField(name string) *caddy.Duration {
	switch name {
	case "ttft_timeout":
		return &h.TTFTTimeout
	case "stream_idle_timeout":
		return &h.StreamIdleTimeout
	case "request_body_timeout":
		return &h.RequestBodyTimeout
	case "half_life":
		return &h.HalfLife
	case "stale_after":
		return &h.StaleAfter
	default:
		return &h.QuotaCooldown
	}
}

// unmarshalDuration parses `<name> <duration>` into dst.
func unmarshalDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return d.Errf("%s: invalid duration %q", name, s)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// unmarshalVendor parses one `vendor <id> [<kind>] { ... }` block.
func unmarshalVendor(d *caddyfile.Dispenser) (VendorConfig, error) {
	var vc VendorConfig
	args := d.RemainingArgs()
	switch len(args) {
	case 1:
		vc.ID = args[0]
	case 2:
		vc.ID, vc.Kind = args[0], args[1]
	default:
		return vc, d.Err("vendor: want <id> [<kind>]")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if field := vc.stringSetting(d.Val()); field != nil {
			if !d.AllArgs(field) {
				return vc, d.ArgErr()
			}
			continue
		}
		switch d.Val() {
		case "max_tokens":
			var s string
			if !d.AllArgs(&s) {
				return vc, d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return vc, d.Errf("vendor %s: max_tokens: want a whole number of 1 or more, got %q", vc.ID, s)
			}
			vc.MaxTokens = n
		case "probe":
			// probe off|models|completion [interval <duration>]
			args := d.RemainingArgs()
			if len(args) != 1 && len(args) != 3 {
				return vc, d.Errf("vendor %s: probe: want off|models|completion [interval <duration>]", vc.ID)
			}
			vc.Probe = args[0]
			if len(args) == 3 {
				if args[1] != "interval" {
					return vc, d.Errf("vendor %s: probe: unknown option %q (want interval)", vc.ID, args[1])
				}
				dur, err := caddy.ParseDuration(args[2])
				if err != nil || dur <= 0 {
					return vc, d.Errf("vendor %s: probe: invalid interval %q", vc.ID, args[2])
				}
				vc.ProbeInterval = caddy.Duration(dur)
			}
		case "tags":
			tags := d.RemainingArgs()
			if len(tags) == 0 {
				return vc, d.ArgErr()
			}
			vc.Tags = append(vc.Tags, tags...)
		case "header":
			var name, value string
			if !d.AllArgs(&name, &value) {
				return vc, d.ArgErr()
			}
			if vc.Headers == nil {
				vc.Headers = make(map[string]string)
			}
			vc.Headers[name] = value
		case "model":
			mc, err := unmarshalModel(d)
			if err != nil {
				return vc, err
			}
			vc.Models = append(vc.Models, mc)
		default:
			return vc, d.Errf("vendor %s: unrecognized subdirective %q", vc.ID, d.Val())
		}
	}
	return vc, nil
}

// stringSetting returns the field of vc a one-value subdirective sets, or
// nil when name is not one (see vendorStringSettings).
func (vc *VendorConfig) stringSetting(name string) *string {
	for _, s := range vendorStringSettings {
		if s.name == name {
			return s.config(vc)
		}
	}
	return nil
}

// unmarshalModel parses `model <name> [as <vendor_model>] [input <usd>]
// [output <usd>] [cached_input <usd>]`.
func unmarshalModel(d *caddyfile.Dispenser) (ModelConfig, error) {
	var mc ModelConfig
	if !d.NextArg() {
		return mc, d.ArgErr()
	}
	mc.Name = d.Val()
	for d.NextArg() {
		key := d.Val()
		if !d.NextArg() {
			return mc, d.Errf("model %s: %s needs a value", mc.Name, key)
		}
		val := d.Val()
		switch key {
		case "as":
			mc.VendorModel = val
			continue
		case "input", "output", "cached_input":
		default:
			return mc, d.Errf("model %s: unknown option %q (want as, input, output or cached_input)", mc.Name, key)
		}
		price, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(price) || math.IsInf(price, 0) {
			return mc, d.Errf("model %s: %s price %q is not a number", mc.Name, key, val)
		}
		switch key {
		case "input":
			mc.InputPrice = &price
		case "output":
			mc.OutputPrice = &price
		case "cached_input":
			mc.CachedInputPrice = &price
		}
	}
	return mc, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*LLMRouter)(nil)

package llmrouter

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/preferences"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// route is one way to serve a model: a vendor, the vendor's name for the model,
// its price and what was learned about it.
type route struct {
	vendor      *vendors.Vendor
	model       string // the name clients use
	vendorModel string
	price       billing.Pricing
	stats       selector.Route
	// match is what routing preferences know of the route.
	match preferences.Vendor

	// upstream is this route's own reverse_proxy upstream. Several routes may
	// dial the same host; the selection policy tells them apart by pointer.
	upstream *reverseproxy.Upstream

	series routeSeries // its metrics
}

// routeTable is the provisioned, immutable view of the vendor configuration.
type routeTable struct {
	routes  []*route
	byModel map[string][]*route        // in config order
	vendors map[string]*vendors.Vendor // by lower-cased id
	models  []string                   // model names, sorted, for GET /models
}

// buildRouteTable resolves placeholders, validates every vendor and model, and
// returns the routes, each holding its stats from store until the table is
// released. Errors name the vendor and the field at fault; a table that fails
// releases what it took.
func buildRouteTable(cfgs []VendorConfig, repl *caddy.Replacer, store selector.Store) (_ *routeTable, err error) {
	t := &routeTable{
		byModel: make(map[string][]*route),
		vendors: make(map[string]*vendors.Vendor),
	}
	defer func() {
		if err != nil {
			t.release(store)
		}
	}()
	for i, vc := range cfgs {
		v, err := newVendor(i, vc, repl)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(v.ID())
		if _, dup := t.vendors[key]; dup {
			return nil, fmt.Errorf("vendor %q: duplicate vendor id", vc.ID)
		}
		t.vendors[key] = v

		if len(vc.Models) == 0 {
			return nil, fmt.Errorf("vendor %q: models: at least one model is required", vc.ID)
		}
		for _, tag := range vc.Tags {
			if !validTag(tag) {
				return nil, fmt.Errorf("vendor %q: tags: invalid tag %q (no spaces, commas or '=')", vc.ID, tag)
			}
		}
		seen := make(map[string]bool, len(vc.Models))
		for _, mc := range vc.Models {
			rt, err := newRoute(v, mc)
			if err != nil {
				return nil, fmt.Errorf("vendor %q: %w", vc.ID, err)
			}
			rt.match = preferences.Vendor{ID: v.ID(), Kind: v.Kind(), Tags: vc.Tags, Price: rt.price}
			if seen[rt.model] {
				return nil, fmt.Errorf("vendor %q: model %q: declared twice", vc.ID, rt.model)
			}
			seen[rt.model] = true
			rt.stats = store.Route(statsKey(v, rt.model))
			t.routes = append(t.routes, rt)
			if len(t.byModel[rt.model]) == 0 {
				t.models = append(t.models, rt.model)
			}
			t.byModel[rt.model] = append(t.byModel[rt.model], rt)
		}
	}
	sort.Strings(t.models)
	return t, nil
}

// release gives back to store the stats of every route, which
// buildRouteTable took.
func (t *routeTable) release(store selector.Store) {
	for _, rt := range t.routes {
		store.Release(statsKey(rt.vendor, rt.model))
	}
}

// newVendor resolves the placeholders of one vendor's settings and validates them.
func newVendor(index int, vc VendorConfig, repl *caddy.Replacer) (*vendors.Vendor, error) {
	if vc.ID == "" {
		return nil, fmt.Errorf("vendor #%d: id is required", index+1)
	}
	if strings.EqualFold(vc.ID, autoVendor) {
		return nil, fmt.Errorf("vendor %q: id %q is reserved for automatic routing", vc.ID, autoVendor)
	}
	kind := vc.Kind
	if kind == "" {
		if !vendors.IsKind(vc.ID) {
			return nil, fmt.Errorf("vendor %q: kind: required because %q is not a known kind (known: %s)",
				vc.ID, vc.ID, strings.Join(vendors.Kinds(), ", "))
		}
		kind = vc.ID
	}
	cfg := vendors.Config{ID: vc.ID, Kind: kind, DefaultMaxTokens: vc.MaxTokens}
	for _, s := range vendorStringSettings {
		if s.vendor != nil {
			*s.vendor(&cfg) = repl.ReplaceKnown(*s.config(&vc), "")
		}
	}
	if vc.MaxTokens < 0 {
		return nil, fmt.Errorf("vendor %q: max_tokens must be positive, got %d", vc.ID, vc.MaxTokens)
	}
	if path := repl.ReplaceKnown(vc.CredentialsFile, ""); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("vendor %q: credentials_file: %v", vc.ID, err)
		}
		cfg.CredentialsJSON = data
	}
	if len(vc.Headers) > 0 {
		cfg.Headers = make(http.Header, len(vc.Headers))
		for name, value := range vc.Headers {
			cfg.Headers.Set(name, repl.ReplaceKnown(value, ""))
		}
	}
	v, err := vendors.New(cfg)
	if err != nil {
		msg := err.Error()
		// A key that resolved to nothing is usually an unset environment
		// variable: say which placeholder, never the value.
		if cfg.APIKey == "" && vc.APIKey != "" {
			msg += fmt.Sprintf(" (%s resolved to an empty value)", vc.APIKey)
		}
		return nil, fmt.Errorf("vendor %q: %s", vc.ID, msg)
	}
	return v, nil
}

// newRoute validates one model entry of vendor v. Its stats are for the caller
// to take.
func newRoute(v *vendors.Vendor, mc ModelConfig) (*route, error) {
	if mc.Name == "" {
		return nil, fmt.Errorf("model: name is required")
	}
	price := billing.Pricing{}
	for _, p := range []struct {
		field string
		value *float64
		dst   *float64
	}{
		{"input", mc.InputPrice, &price.Input},
		{"output", mc.OutputPrice, &price.Output},
		{"cached_input", mc.CachedInputPrice, &price.CachedInput},
	} {
		if p.value == nil {
			continue
		}
		if *p.value < 0 || math.IsNaN(*p.value) || math.IsInf(*p.value, 0) {
			return nil, fmt.Errorf("model %q: %s price must be a number of 0 or more, got %g", mc.Name, p.field, *p.value)
		}
		*p.dst = *p.value
		price.Known = true
	}
	if mc.CachedInputPrice == nil {
		price.CachedInput = price.Input
	}
	vendorModel := mc.VendorModel
	if vendorModel == "" {
		vendorModel = mc.Name
	}
	return &route{
		vendor:      v,
		model:       mc.Name,
		vendorModel: vendorModel,
		price:       price,
		upstream:    &reverseproxy.Upstream{Dial: v.Dial()},
	}, nil
}

// statsKey names a route in the stats store. It leaves out the URL and key so
// that what was learned survives a config reload that rotates a key.
func statsKey(v *vendors.Vendor, model string) string {
	return v.Kind() + "/" + strings.ToLower(v.ID()) + "/" + model
}

// vendor returns the vendor with the given id, case-insensitively.
func (t *routeTable) vendor(id string) (*vendors.Vendor, bool) {
	v, ok := t.vendors[strings.ToLower(id)]
	return v, ok
}

// vendorIDs lists the configured vendor ids, sorted, for error messages.
func (t *routeTable) vendorIDs() []string {
	ids := make([]string, 0, len(t.vendors))
	for _, v := range t.vendors {
		ids = append(ids, v.ID())
	}
	sort.Strings(ids)
	return ids
}

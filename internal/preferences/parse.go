package preferences

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/selector"
)

// MaxEntries bounds each list of the routing object.
const MaxEntries = 64

// Error is a routing object the client must fix. Param names the member
// at fault, as in "routing.max_price.prompt" or "routing.only[2]".
type Error struct {
	Param, Message string
}

func (e *Error) Error() string { return e.Param + ": " + e.Message }

func errorf(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

// members are the routing object's members, for messages.
const members = "sort, order, only, ignore, allow_fallbacks, max_price, max_cost_usd or preferred_max_ttft_ms"

// Parse reads a request's routing object (obj, already validated JSON) into
// p. known reports whether an entry of order, only or ignore names
// something that exists (a configured vendor id, a vendor kind); tags are
// free. Every error names the member.
func Parse(obj gjson.Result, known func(Match) bool, p *Prefs) error {
	if !obj.IsObject() {
		return errorf("routing", "must be a strategy name or an object")
	}
	var err error
	seen := map[string]bool{}
	obj.ForEach(func(key, value gjson.Result) bool {
		name := key.Str
		param := "routing." + name
		if seen[name] {
			err = errorf(param, "appears twice")
			return false
		}
		seen[name] = true
		switch name {
		case "sort":
			s, ok := selector.Strategy(0), false
			if value.Type == gjson.String {
				s, ok = selector.ParseStrategy(value.Str)
			}
			if !ok {
				err = errorf(param, "invalid value %s: use %s", value.Raw, selector.StrategyChoices(true))
				return false
			}
			p.Sort, p.HasSort = s, true
		case "order":
			p.Order, err = parseList(value, param, known)
		case "only":
			p.Only, err = parseList(value, param, known)
			p.HasOnly = true
		case "ignore":
			p.Ignore, err = parseList(value, param, known)
		case "allow_fallbacks":
			if !value.IsBool() {
				err = errorf(param, "must be true or false, got %s", value.Raw)
				return false
			}
			p.NoFallbacks = !value.Bool()
		case "max_price":
			err = parseMaxPrice(value, param, p)
		case "max_cost_usd":
			var usd float64
			if usd, err = positive(value, param); err == nil {
				p.MaxCost = Ceiling{USD: usd, Set: true}
			}
		case "preferred_max_ttft_ms":
			var ms float64
			if ms, err = positive(value, param); err == nil {
				if ms > float64(math.MaxInt64/time.Millisecond) {
					err = errorf(param, "is too large")
					return false
				}
				p.PreferredMaxTTFT = time.Duration(ms * float64(time.Millisecond))
			}
		default:
			err = errorf(param, "unknown member: use %s", members)
		}
		return err == nil
	})
	return err
}

// parseList reads a list of vendor ids, kind:<kind> and tag:<tag>.
func parseList(value gjson.Result, param string, known func(Match) bool) ([]Match, error) {
	if !value.IsArray() {
		return nil, errorf(param, "must be an array of vendor ids, \"kind:<kind>\" or \"tag:<tag>\", got %s", value.Raw)
	}
	items := value.Array()
	if len(items) > MaxEntries {
		return nil, errorf(param, "has %d entries; at most %d", len(items), MaxEntries)
	}
	out := make([]Match, 0, len(items))
	for i, item := range items {
		at := param + "[" + strconv.Itoa(i) + "]"
		if item.Type != gjson.String {
			return nil, errorf(at, "must be a string, got %s", item.Raw)
		}
		m, ok := ParseMatch(item.Str)
		if !ok {
			return nil, errorf(at, "must not be empty")
		}
		if known != nil && !known(m) {
			what := "vendor"
			if m.Field == MatchKind {
				what = "vendor kind"
			}
			return nil, errorf(at, "unknown %s %q", what, m.Value)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMaxPrice reads {"prompt": <usd>, "completion": <usd>}.
func parseMaxPrice(value gjson.Result, param string, p *Prefs) error {
	if !value.IsObject() {
		return errorf(param, `must be an object such as {"prompt": 3, "completion": 12} (USD per million tokens)`)
	}
	var err error
	value.ForEach(func(key, v gjson.Result) bool {
		at := param + "." + key.Str
		var dst *Ceiling
		switch key.Str {
		case "prompt":
			dst = &p.MaxPrompt
		case "completion":
			dst = &p.MaxCompletion
		default:
			err = errorf(at, "unknown member: use prompt or completion")
			return false
		}
		if v.Type != gjson.Number || v.Float() < 0 || math.IsInf(v.Float(), 0) {
			err = errorf(at, "must be a number of 0 or more (USD per million tokens), got %s", v.Raw)
			return false
		}
		*dst = Ceiling{USD: v.Float(), Set: true}
		return true
	})
	return err
}

// positive reads a number above 0.
func positive(value gjson.Result, param string) (float64, error) {
	f := value.Float()
	if value.Type != gjson.Number || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errorf(param, "must be a number above 0, got %s", value.Raw)
	}
	return f, nil
}

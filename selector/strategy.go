package selector

import (
	"fmt"
	"strconv"
	"strings"
)

// Strategy is the preferred-routing mode a request asks for with its
// "routing" body field. Each strategy is declared in a file of its own
// (strategy_*.go) and registered under its number: a Strategy is a small
// number so that it is cheap to copy and can index arrays, such as a
// caller's cache of metric series (see MaxStrategies). The zero Strategy is
// Perf.
type Strategy uint8

// MaxStrategies bounds the number of strategies, so that a caller can size
// an array indexed by Strategy with a constant and still have room for the
// strategies to come.
const MaxStrategies = 8

// strategyDef is what a strategy file declares.
type strategyDef struct {
	// name is what the "routing" field says to ask for the strategy.
	name string
	// ttft is the time to first token its scores are read with.
	ttft TTFTBasis
	// order compares two candidates of the same health tier for req: -1
	// when a ranks first, +1 when b does, 0 when only their order in the
	// candidate list can tell them apart.
	order func(req *Request, a, b *score) int
	// explores is whether Rank may send the strategy's requests to a
	// runner-up to measure it.
	explores bool
}

// strategies holds the registered strategies by number. It is written only
// by register, from init functions, and read-only after.
var strategies [MaxStrategies]strategyDef

// register declares strategy s. It panics, when the package loads, for a
// number out of range or taken, or a name empty or taken, so that a broken
// registry cannot go unnoticed.
func register(s Strategy, def strategyDef) {
	if int(s) >= len(strategies) {
		panic(fmt.Sprintf("selector: strategy %q: number %d out of range [0, %d)", def.name, s, MaxStrategies))
	}
	if def.name == "" || def.order == nil {
		panic(fmt.Sprintf("selector: strategy %d: name and order are required", s))
	}
	if strategies[s].name != "" {
		panic(fmt.Sprintf("selector: strategy %q: number %d is taken by %q", def.name, s, strategies[s].name))
	}
	if _, taken := ParseStrategy(def.name); taken {
		panic(fmt.Sprintf("selector: strategy %q registered twice", def.name))
	}
	strategies[s] = def
}

// strategyOf returns the definition of s, or Perf's for a Strategy that was
// not registered.
func strategyOf(s Strategy) *strategyDef {
	if int(s) < len(strategies) && strategies[s].name != "" {
		return &strategies[s]
	}
	return &strategies[Perf]
}

// ParseStrategy parses the "routing" field of a request: one of the names
// StrategyNames lists, exactly and in lower case. Any other value, the empty
// string included, reports false; the caller decides what a missing field
// means.
func ParseStrategy(name string) (Strategy, bool) {
	for i := range strategies {
		if strategies[i].name != "" && strategies[i].name == name {
			return Strategy(i), true
		}
	}
	return Perf, false
}

// String returns the name ParseStrategy accepts for s, or "Strategy(N)" for
// a value that was not registered.
func (s Strategy) String() string {
	if int(s) < len(strategies) && strategies[s].name != "" {
		return strategies[s].name
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// StrategyNames returns the names of the strategies, in the order of their
// numbers.
func StrategyNames() []string {
	var names []string
	for i := range strategies {
		if name := strategies[i].name; name != "" {
			names = append(names, name)
		}
	}
	return names
}

// StrategyChoices lists the strategies for a message, as in "perf, perf-avg
// or price", each name in double quotes when quoted is set, so that error
// messages that offer the choices name every strategy there is.
func StrategyChoices(quoted bool) string {
	names := StrategyNames()
	if quoted {
		for i, name := range names {
			names[i] = strconv.Quote(name)
		}
	}
	return orList(names)
}

// orList joins items as in "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

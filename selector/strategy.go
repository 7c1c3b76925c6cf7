package selector

import "strconv"

// Strategy is the preferred-routing mode a request asks for with its
// "routing" body field.
type Strategy uint8

const (
	// Perf prefers the route with the lowest predicted latency for a prompt
	// of this request's size. It is the default.
	Perf Strategy = iota
	// PerfAvg prefers the route with the lowest latency averaged over all
	// prompt-size buckets it has data for.
	PerfAvg
	// Price prefers the route with the lowest expected cost; ties go to Perf.
	Price
)

// ParseStrategy parses the "routing" field of a request: "perf", "perf-avg"
// or "price", exactly and in lower case. Any other value, the empty string
// included, reports false; the caller decides what a missing field means.
func ParseStrategy(s string) (Strategy, bool) {
	switch s {
	case "perf":
		return Perf, true
	case "perf-avg":
		return PerfAvg, true
	case "price":
		return Price, true
	}
	return Perf, false
}

// String returns the name ParseStrategy accepts for s, or "Strategy(N)" for
// a value that is not one of the constants.
func (s Strategy) String() string {
	switch s {
	case Perf:
		return "perf"
	case PerfAvg:
		return "perf-avg"
	case Price:
		return "price"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

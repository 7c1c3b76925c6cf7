package limits

import (
	"strings"
	"time"
)

// Kind is what a limit counts.
type Kind uint8

const (
	// Requests per sliding window.
	Requests Kind = iota + 1
	// Tokens per sliding window, counted per CountMode.
	Tokens
	// Concurrent requests: slots held from admission to settlement.
	Concurrent
	// USD spent per period, in micro-USD.
	USD
)

var kindNames = [...]string{Requests: "requests", Tokens: "tokens", Concurrent: "concurrent", USD: "usd"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// CountMode is which tokens a token limit counts.
type CountMode uint8

const (
	// CountTotal counts prompt and completion tokens (the default).
	CountTotal CountMode = iota
	// CountInput counts prompt tokens only.
	CountInput
	// CountOutput counts completion tokens only.
	CountOutput
)

var countNames = [...]string{CountTotal: "total", CountInput: "input", CountOutput: "output"}

func (c CountMode) String() string { return countNames[c] }

// OnError is what a shared limiter does when Redis cannot be reached.
type OnError uint8

const (
	// OnErrorLocal enforces each limit in memory, each instance with its
	// share: the limit divided by the live instances.
	OnErrorLocal OnError = iota
	// OnErrorOpen admits every request and counts nothing.
	OnErrorOpen
	// OnErrorClosed refuses every request (the handler answers 503).
	OnErrorClosed
)

var onErrorNames = [...]string{OnErrorLocal: "local", OnErrorOpen: "open", OnErrorClosed: "closed"}

func (o OnError) String() string { return onErrorNames[o] }

// Applied is one limit that applies to a request, resolved for its client.
// Policy.Applicable returns them; they are shared between requests and must
// not be modified.
type Applied struct {
	Kind Kind
	// Limit is in the kind's unit: requests, tokens, slots or micro-USD.
	Limit int64
	// Window is the sliding window of requests and tokens, and the length
	// of a rolling budget; 0 for calendar budgets and concurrency.
	Window time.Duration
	// Period is a calendar budget's period (day, week, month), in Location.
	Period   Period
	Location *time.Location
	// Hard budgets reserve each request's worst case; soft ones admit
	// while anything is left.
	Hard bool
	// Count is which tokens a token limit counts.
	Count CountMode
	// Model is the model-name pattern the limit comes from; empty for the
	// limits of the whole tier or client.
	Model string
	// Name identifies the counter across instances (see counterName). For
	// a calendar budget it lacks the period: CounterName adds it.
	Name string
}

// CounterName is the name of the limit's counter at now: Name, and for a
// calendar budget the period's start ("|2026-12"), so that a new period is
// a new counter and starts from zero without anyone resetting anything.
func (a *Applied) CounterName(now time.Time) string {
	if a.Period == NoPeriod {
		return a.Name
	}
	start, _ := a.Period.Bounds(now, a.Location)
	return a.Name + "|" + a.Period.label(start)
}

// Calendar reports whether the limit is a calendar budget.
func (a *Applied) Calendar() bool { return a.Period != NoPeriod }

// counterName is `<client>|<kind>|<model>|<window>`: the client and the
// model pattern escaped (`%` and `|` as %25 and %7C) so that no two limits
// share a name whatever the names hold; `*` for the whole set's limits and
// `=<pattern>` for a model pattern's (a pattern `*` is another limit than
// the set's own). The kind carries the count mode of tokens ("tokens:input")
// and the window is a canonical duration ("1m0s") or, for calendar
// budgets, the period and its zone ("month@Europe/Paris"). The limit value
// is left out on purpose: a reload that raises a limit keeps the counts.
func counterName(client string, a *Applied) string {
	return escapeName(client) + a.Name
}

// nameSuffix is everything in a counter's name after the client.
func nameSuffix(a *Applied) string {
	var b strings.Builder
	b.WriteString("|")
	b.WriteString(a.Kind.String())
	if a.Kind == Tokens && a.Count != CountTotal {
		b.WriteString(":")
		b.WriteString(a.Count.String())
	}
	b.WriteString("|")
	if a.Model == "" {
		b.WriteString("*")
	} else {
		b.WriteString("=")
		b.WriteString(escapeName(a.Model))
	}
	b.WriteString("|")
	switch {
	case a.Period != NoPeriod:
		b.WriteString(a.Period.String())
		b.WriteString("@")
		b.WriteString(escapeName(a.Location.String()))
	case a.Kind == Concurrent:
		b.WriteString("slots")
	default:
		b.WriteString(a.Window.String())
	}
	return b.String()
}

// escapeName makes s safe between the separators of a counter name.
func escapeName(s string) string {
	if !strings.ContainsAny(s, "%|") {
		return s
	}
	return strings.NewReplacer("%", "%25", "|", "%7C").Replace(s)
}

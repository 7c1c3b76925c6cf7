package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rate(limit int64, per string) *Rate { return &Rate{Limit: limit, Per: per} }

func TestCompileErrorsNameTheSetting(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"on_error", Config{OnError: "maybe"}, `on_error: "maybe" is not local, open or closed`},
		{"window", Config{Tiers: map[string]Set{"default": {Tokens: rate(10, "5x")}}},
			`tier "default": tokens: per: "5x" is not a window`},
		{"no window", Config{Tiers: map[string]Set{"default": {Requests: rate(10, "")}}},
			`tier "default": requests: per: missing`},
		{"calendar rate", Config{Tiers: map[string]Set{"default": {Requests: rate(10, "day")}}},
			`tier "default": requests: per: "day" is a calendar period`},
		{"zero limit", Config{Tiers: map[string]Set{"free": {Requests: rate(0, "1m")}}},
			`tier "free": requests: limit: 0: must be positive`},
		{"count", Config{Tiers: map[string]Set{"default": {Tokens: &Rate{Limit: 1, Per: "1m", Count: "some"}}}},
			`tier "default": tokens: count: "some" is not input, output or total`},
		{"count on requests", Config{Tiers: map[string]Set{"default": {Requests: &Rate{Limit: 1, Per: "1m", Count: "input"}}}},
			`tier "default": requests: count: only token limits`},
		{"concurrent", Config{Tiers: map[string]Set{"default": {Concurrent: -1}}},
			`tier "default": concurrent: -1: must be positive`},
		{"usd zero", Config{Tiers: map[string]Set{"default": {USD: &Budget{USD: 0, Per: "month"}}}},
			`tier "default": usd: limit: 0: must be positive`},
		{"usd period", Config{Tiers: map[string]Set{"default": {USD: &Budget{USD: 5, Per: "fortnight"}}}},
			`tier "default": usd: per: "fortnight" is not a window`},
		{"zone", Config{Tiers: map[string]Set{"default": {USD: &Budget{USD: 5, Per: "month", TimeZone: "Mars/Olympus"}}}},
			`tier "default": usd: time_zone: "Mars/Olympus"`},
		{"zone on rolling", Config{Tiers: map[string]Set{"default": {USD: &Budget{USD: 5, Per: "30d", TimeZone: "UTC"}}}},
			`tier "default": usd: time_zone: applies to calendar periods`},
		{"pattern", Config{Tiers: map[string]Set{"default": {Models: []ModelSet{{Match: "gpt-[", Requests: rate(1, "1m")}}}}},
			`tier "default": model "gpt-[": bad pattern`},
		{"empty pattern", Config{Tiers: map[string]Set{"default": {Models: []ModelSet{{Requests: rate(1, "1m")}}}}},
			`tier "default": model: empty pattern`},
		{"twice", Config{Tiers: map[string]Set{"default": {Models: []ModelSet{
			{Match: "a*", Requests: rate(1, "1m")}, {Match: "a*", Concurrent: 1}}}}},
			`tier "default": model "a*": given twice`},
		{"model without limits", Config{Tiers: map[string]Set{"default": {Models: []ModelSet{{Match: "a*"}}}}},
			`tier "default": model "a*": no limits`},
		{"model setting", Config{Tiers: map[string]Set{"default": {Models: []ModelSet{{Match: "gpt-4o*", USD: &Budget{USD: 10, Per: "dya"}}}}}},
			`tier "default": model "gpt-4o*": usd: per: "dya"`},
		{"client", Config{Clients: map[string]Set{"key:3f2a": {USD: &Budget{USD: -3, Per: "month"}}}},
			`client "key:3f2a": usd: limit: -3: must be positive`},
		{"empty client", Config{Clients: map[string]Set{"": {Concurrent: 1}}}, `client: empty name`},
		{"empty tier", Config{Tiers: map[string]Set{" ": {Concurrent: 1}}}, `tier: empty name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestCompileResolves(t *testing.T) {
	p, err := Compile(Config{Tiers: map[string]Set{"default": {
		Requests:   rate(60, "1m"),
		Tokens:     &Rate{Limit: 200_000, Per: "1m", Count: "output"},
		Concurrent: 8,
		USD:        &Budget{USD: 25, Per: "month", TimeZone: "Europe/Paris", Hard: true},
		Models:     []ModelSet{{Match: "gpt-4o*", USD: &Budget{USD: 10, Per: "30d"}}},
	}}})
	require.NoError(t, err)
	assert.Equal(t, OnErrorLocal, p.OnError())
	got, err := p.Applicable("alice", "", "gpt-4o-mini")
	require.NoError(t, err)
	require.Len(t, got, 5)
	assert.Equal(t, Applied{Kind: Requests, Limit: 60, Window: time.Minute, Name: "alice|requests|*|1m0s"}, got[0])
	assert.Equal(t, CountOutput, got[1].Count)
	assert.Equal(t, "alice|tokens:output|*|1m0s", got[1].Name)
	assert.Equal(t, "alice|concurrent|*|slots", got[2].Name)
	assert.Equal(t, int64(25_000_000), got[3].Limit)
	assert.True(t, got[3].Hard)
	assert.Equal(t, Month, got[3].Period)
	assert.Equal(t, "Europe/Paris", got[3].Location.String())
	assert.Equal(t, "alice|usd|*|month@Europe/Paris", got[3].Name)
	assert.Equal(t, Applied{Kind: USD, Limit: 10_000_000, Window: 720 * time.Hour, Model: "gpt-4o*",
		Name: "alice|usd|=gpt-4o*|720h0m0s"}, got[4])

	for _, mode := range []string{"open", "closed"} {
		p, err := Compile(Config{OnError: mode})
		require.NoError(t, err)
		assert.Equal(t, mode, p.OnError().String())
	}
}

func TestApplicableOverridesAndTiers(t *testing.T) {
	p, err := Compile(Config{
		Tiers: map[string]Set{
			"default": {
				Requests: rate(60, "1m"),
				USD:      &Budget{USD: 25, Per: "month"},
				Models: []ModelSet{
					{Match: "gpt-4o*", USD: &Budget{USD: 10, Per: "day"}},
					{Match: "claude-*", Concurrent: 2},
				},
			},
			"pro": {Requests: rate(600, "1m")},
		},
		Clients: map[string]Set{
			"vip": {
				USD:    &Budget{USD: 500, Per: "month"},
				Models: []ModelSet{{Match: "gpt-4o*", USD: &Budget{USD: 100, Per: "day"}}, {Match: "o1*", Concurrent: 1}},
			},
		},
	})
	require.NoError(t, err)

	limits := func(client, tier, model string) map[string]int64 {
		t.Helper()
		got, err := p.Applicable(client, tier, model)
		require.NoError(t, err)
		out := map[string]int64{}
		for _, a := range got {
			out[a.Kind.String()+" "+a.Model] = a.Limit
		}
		return out
	}
	assert.Equal(t, map[string]int64{"requests ": 60, "usd ": 25e6}, limits("bob", "default", "mistral-large"))
	assert.Equal(t, map[string]int64{"requests ": 60, "usd ": 25e6, "usd gpt-4o*": 10e6}, limits("bob", "", "gpt-4o-mini"))
	assert.Equal(t, map[string]int64{"requests ": 60, "usd ": 25e6, "concurrent claude-*": 2}, limits("bob", "", "claude-3"))
	// The client's limits replace the tier's of the same kind and pattern,
	// and add their own; the tier's others stand.
	assert.Equal(t, map[string]int64{"requests ": 60, "usd ": 500e6, "usd gpt-4o*": 100e6}, limits("vip", "", "gpt-4o"))
	assert.Equal(t, map[string]int64{"requests ": 60, "usd ": 500e6, "concurrent o1*": 1}, limits("vip", "", "o1-mini"))
	assert.Equal(t, map[string]int64{"requests ": 600, "usd ": 500e6}, limits("vip", "pro", "x"))
	assert.Equal(t, map[string]int64{"requests ": 600}, limits("bob", "pro", "x"))

	_, err = p.Applicable("bob", "gold", "x")
	require.ErrorIs(t, err, ErrUnknownTier)
	assert.Contains(t, err.Error(), `"gold"`)

	// An empty configuration has a default tier without limits.
	empty, err := Compile(Config{})
	require.NoError(t, err)
	got, err := empty.Applicable("", "", "m")
	require.NoError(t, err)
	assert.Empty(t, got)

	// Cached: the same slice, and no allocation.
	a1, _ := p.Applicable("bob", "", "gpt-4o")
	a2, _ := p.Applicable("bob", "", "gpt-4o")
	assert.Same(t, &a1[0], &a2[0])
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = p.Applicable("bob", "", "gpt-4o") }))
}

func TestCounterNamesAreStableAndDistinct(t *testing.T) {
	cfg := Config{Tiers: map[string]Set{"default": {
		Requests: rate(60, "1m"),
		Tokens:   rate(1000, "60s"),
		USD:      &Budget{USD: 1, Per: "month", TimeZone: "Asia/Tokyo"},
		Models: []ModelSet{
			{Match: "*", Requests: rate(60, "1m")},
			{Match: "a|b", Requests: rate(60, "1m")},
			{Match: "a%7Cb", Requests: rate(60, "1m")},
			{Match: "x*", Tokens: &Rate{Limit: 5, Per: "1m", Count: "input"}},
		},
	}}}
	p, err := Compile(cfg)
	require.NoError(t, err)
	q, err := Compile(cfg) // another instance, or a reload
	require.NoError(t, err)

	seen := map[string]string{}
	for _, client := range []string{"a", "a|requests", "a%7Crequests", "", "key:3f|x", "ünï cödé\n"} {
		for _, model := range []string{"a|b", "a%7Cb", "x1", "zzz"} {
			got, err := p.Applicable(client, "", model)
			require.NoError(t, err)
			again, err := q.Applicable(client, "", model)
			require.NoError(t, err)
			for i, a := range got {
				assert.Equal(t, a.Name, again[i].Name, "stable across policies")
				id := client + "\x00" + a.Kind.String() + "\x00" + a.Model
				if prev, ok := seen[a.Name]; ok {
					assert.Equal(t, prev, id, "name %q for two limits", a.Name)
				}
				seen[a.Name] = id
			}
		}
	}
	assert.Contains(t, seen, "a%7Crequests|requests|*|1m0s")
	assert.Contains(t, seen, "a|requests|=a%7Cb|1m0s")
	assert.Contains(t, seen, "a|requests|=a%257Cb|1m0s")
	assert.Contains(t, seen, "anonymous|requests|*|1m0s")
	assert.Contains(t, seen, "a|tokens:input|=x*|1m0s")
}

func TestCalendarPeriodsRollOverByName(t *testing.T) {
	p, err := Compile(Config{Tiers: map[string]Set{"default": {
		USD: &Budget{USD: 1, Per: "month", TimeZone: "America/New_York"},
	}}})
	require.NoError(t, err)
	got, err := p.Applicable("c", "", "m")
	require.NoError(t, err)
	a := got[0]
	ny, _ := time.LoadLocation("America/New_York")

	// 2026-12-01 04:30 UTC is still November 30 in New York.
	before := time.Date(2026, 12, 1, 4, 30, 0, 0, time.UTC)
	assert.Equal(t, "c|usd|*|month@America/New_York|2026-11", a.CounterName(before))
	start, end := a.Period.Bounds(before, a.Location)
	assert.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, ny), start)
	assert.Equal(t, time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC), end.UTC(), "midnight in New York, EST")
	after := end
	assert.Equal(t, "c|usd|*|month@America/New_York|2026-12", a.CounterName(after))
	assert.Equal(t, "c|usd|*|month@America/New_York|2027-01", a.CounterName(time.Date(2027, 1, 1, 5, 0, 0, 0, time.UTC)))

	// Weeks start on Monday; days follow the zone's midnight, 23 hours
	// long on the day clocks go forward.
	sunday := time.Date(2026, 3, 8, 12, 0, 0, 0, ny)
	start, end = Week.Bounds(sunday, ny)
	assert.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, ny), start)
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, ny), end)
	start, end = Day.Bounds(sunday, ny)
	assert.Equal(t, 23*time.Hour, end.Sub(start))
	assert.Equal(t, "2026-03-02", Week.label(time.Date(2026, 3, 2, 0, 0, 0, 0, ny)))
}

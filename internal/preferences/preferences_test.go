package preferences

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/selector"
)

// The fleet of the tests: prices are USD per million tokens; the worst
// case of each is in worst.
var fleet = []Vendor{
	{ID: "openai", Kind: "openai", Tags: []string{"us"}, Price: billing.Pricing{Known: true, Input: 2.5, Output: 10}},
	{ID: "azure-eu", Kind: "azure", Tags: []string{"eu", "zdr"}, Price: billing.Pricing{Known: true, Input: 2.5, Output: 10}},
	{ID: "groq", Kind: "openai_compatible", Tags: []string{"us", "fast"}, Price: billing.Pricing{Known: true, Input: 0.5, Output: 1}},
	{ID: "local", Kind: "openai_compatible", Tags: []string{"eu"}},
}

var worst = map[string]float64{"openai": 0.04, "azure-eu": 0.04, "groq": 0.005}

func known(m Match) bool {
	switch m.Field {
	case MatchID:
		for _, v := range fleet {
			if strings.EqualFold(v.ID, m.Value) {
				return true
			}
		}
		return false
	case MatchKind:
		return m.Value == "openai" || m.Value == "azure" || m.Value == "openai_compatible" || m.Value == "anthropic"
	}
	return true
}

func parse(t *testing.T, js string) *Prefs {
	t.Helper()
	p := new(Prefs)
	require.NoError(t, Parse(gjson.Parse(js), known, p), js)
	return p
}

// filter returns the vendors s keeps and the exclusions, in fleet order.
func filter(s *Set) (kept []string, excluded []Exclusion) {
	for i := range fleet {
		v := &fleet[i]
		reason := s.Exclude(v, func() (float64, bool) { c, ok := worst[v.ID]; return c, ok })
		if reason == "" {
			kept = append(kept, v.ID)
		} else {
			excluded = append(excluded, Exclusion{Vendor: v.ID, Reason: reason})
		}
	}
	return kept, excluded
}

func TestFilterCombinations(t *testing.T) {
	pin := Pin("groq")
	cases := []struct {
		name           string
		policy, body   string // JSON; "" for none
		header         *Prefs
		kept           []string
		excludedReason map[string]string
	}{
		{name: "nothing", kept: []string{"openai", "azure-eu", "groq", "local"}},
		{name: "only ids", body: `{"only":["openai","groq"]}`, kept: []string{"openai", "groq"},
			excludedReason: map[string]string{"azure-eu": "routing.only", "local": "routing.only"}},
		{name: "only ids case-insensitively", body: `{"only":["OpenAI"]}`, kept: []string{"openai"}},
		{name: "only kind", body: `{"only":["kind:openai_compatible"]}`, kept: []string{"groq", "local"}},
		{name: "only tag", body: `{"only":["tag:eu"]}`, kept: []string{"azure-eu", "local"}},
		{name: "only mixed", body: `{"only":["tag:zdr","kind:openai"]}`, kept: []string{"openai", "azure-eu"}},
		{name: "empty only keeps nothing", body: `{"only":[]}`, kept: nil},
		{name: "ignore id", body: `{"ignore":["openai"]}`, kept: []string{"azure-eu", "groq", "local"},
			excludedReason: map[string]string{"openai": "routing.ignore"}},
		{name: "ignore tag", body: `{"ignore":["tag:us"]}`, kept: []string{"azure-eu", "local"}},
		{name: "ignore kind", body: `{"ignore":["kind:azure"]}`, kept: []string{"openai", "groq", "local"}},
		{name: "only and ignore", body: `{"only":["tag:eu"],"ignore":["local"]}`, kept: []string{"azure-eu"}},
		{name: "max_price prompt", body: `{"max_price":{"prompt":1}}`, kept: []string{"groq"},
			excludedReason: map[string]string{"openai": "routing.max_price", "local": "routing.max_price"}},
		{name: "max_price completion", body: `{"max_price":{"completion":10}}`, kept: []string{"openai", "azure-eu", "groq"}},
		{name: "max_price both", body: `{"max_price":{"prompt":3,"completion":5}}`, kept: []string{"groq"}},
		{name: "max_cost", body: `{"max_cost_usd":0.01}`, kept: []string{"groq"},
			excludedReason: map[string]string{"openai": "routing.max_cost_usd", "local": "routing.max_cost_usd"}},
		{name: "order is soft with fallbacks", body: `{"order":["groq"]}`, kept: []string{"openai", "azure-eu", "groq", "local"}},
		{name: "order is closed without fallbacks", body: `{"order":["groq","tag:eu"],"allow_fallbacks":false}`,
			kept: []string{"azure-eu", "groq", "local"}, excludedReason: map[string]string{"openai": "routing.order"}},
		{name: "no fallbacks without order filters nothing", body: `{"allow_fallbacks":false}`,
			kept: []string{"openai", "azure-eu", "groq", "local"}},

		// The header pin.
		{name: "pin", header: &pin, kept: []string{"groq"}, excludedReason: map[string]string{"openai": "vendor_header"}},
		{name: "pin and body only agree", header: &pin, body: `{"only":["tag:fast"]}`, kept: []string{"groq"}},
		{name: "pin and body only disagree", header: &pin, body: `{"only":["openai"]}`, kept: nil,
			excludedReason: map[string]string{"groq": "routing.only", "openai": "vendor_header"}},
		{name: "pin and body ignore", header: &pin, body: `{"ignore":["groq"]}`, kept: nil},
		{name: "pin and a body order outside it", header: &pin, body: `{"order":["openai"]}`, kept: nil,
			excludedReason: map[string]string{"groq": "routing.order"}},

		// The operator's policy: the client only narrows it.
		{name: "policy ignore", policy: `{"ignore":["tag:us"]}`, kept: []string{"azure-eu", "local"},
			excludedReason: map[string]string{"openai": "routing_policy.ignore"}},
		{name: "policy ignore wins over body only", policy: `{"ignore":["tag:us"]}`, body: `{"only":["openai","local"]}`,
			kept: []string{"local"}, excludedReason: map[string]string{"openai": "routing_policy.ignore"}},
		{name: "policy only and body only intersect", policy: `{"only":["tag:eu","groq"]}`, body: `{"only":["tag:us"]}`,
			kept: []string{"groq"}},
		{name: "policy max_price lower than the body's", policy: `{"max_price":{"prompt":1}}`,
			body: `{"max_price":{"prompt":3}}`, kept: []string{"groq"},
			excludedReason: map[string]string{"openai": "routing_policy.max_price"}},
		{name: "body max_price lower than the policy's", policy: `{"max_price":{"prompt":3}}`,
			body: `{"max_price":{"prompt":1}}`, kept: []string{"groq"},
			excludedReason: map[string]string{"openai": "routing.max_price"}},
		{name: "policy max_cost and body max_price", policy: `{"max_cost_usd":0.05}`, body: `{"max_price":{"completion":5}}`,
			kept: []string{"groq"}, excludedReason: map[string]string{"local": "routing_policy.max_cost_usd", "openai": "routing.max_price"}},
		{name: "policy, pin and body", policy: `{"ignore":["kind:azure"]}`, header: &pin, body: `{"max_cost_usd":1}`,
			kept: []string{"groq"}, excludedReason: map[string]string{"azure-eu": "routing_policy.ignore", "openai": "vendor_header"}},
		{name: "policy pinned out", policy: `{"ignore":["groq"]}`, header: &pin, kept: nil,
			excludedReason: map[string]string{"groq": "routing_policy.ignore"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Set
			if c.policy != "" {
				s.Add(FromPolicy, parse(t, c.policy))
			}
			if c.header != nil {
				s.Add(FromHeader, c.header)
			}
			if c.body != "" {
				s.Add(FromBody, parse(t, c.body))
			}
			kept, excluded := filter(&s)
			assert.Equal(t, c.kept, kept)
			assert.Len(t, excluded, len(fleet)-len(kept), "every vendor is kept or has a reason")
			got := map[string]string{}
			for _, e := range excluded {
				got[e.Vendor] = e.Reason
			}
			for vendor, reason := range c.excludedReason {
				assert.Equal(t, reason, got[vendor], vendor)
			}
		})
	}
}

func TestSetCombinesByIntersection(t *testing.T) {
	var s Set
	assert.True(t, s.Empty())
	assert.True(t, s.AllowFallbacks())
	_, has := s.Sort()
	assert.False(t, has)

	s.Add(FromPolicy, parse(t, `{"max_cost_usd":0.5}`))
	s.Add(FromBody, parse(t, `{"sort":"ttft","max_cost_usd":0.8,"preferred_max_ttft_ms":1500,"order":["groq"]}`))
	assert.False(t, s.Empty())
	c, rule := s.MaxCost()
	assert.Equal(t, Ceiling{USD: 0.5, Set: true}, c, "the lower ceiling")
	assert.Equal(t, "routing_policy.max_cost_usd", rule)
	sort, has := s.Sort()
	assert.True(t, has)
	assert.Equal(t, selector.TTFT, sort)
	assert.Equal(t, 1500*time.Millisecond, s.PreferredMaxTTFT())
	assert.True(t, s.AllowFallbacks())

	pin := Pin("groq")
	s.Add(FromHeader, &pin)
	assert.False(t, s.AllowFallbacks(), "the header pin allows no fallback")
}

func TestReorder(t *testing.T) {
	var s Set
	s.Add(FromBody, parse(t, `{"order":["local","tag:us"]}`))
	ranked := []*Vendor{&fleet[2], &fleet[1], &fleet[0], &fleet[3]} // groq, azure-eu, openai, local
	reorder := func(s *Set) {
		Reorder(s, len(ranked), func(i int) *Vendor { return ranked[i] }, func(i, j int) { ranked[i], ranked[j] = ranked[j], ranked[i] })
	}
	reorder(&s)
	var ids []string
	for _, v := range ranked {
		ids = append(ids, v.ID)
	}
	assert.Equal(t, []string{"local", "groq", "openai", "azure-eu"}, ids,
		"the order first; a tag keeps the ranking among its vendors; the rest after, ranked")

	var none Set
	reorder(&none)
	assert.Equal(t, "local", ranked[0].ID, "no order changes nothing")
	assert.Equal(t, 0, none.OrderIndex(&fleet[0]), "without an order every vendor is alike")
	assert.Equal(t, 1, s.OrderIndex(&fleet[0]), "openai is tag:us")
	assert.Equal(t, 2, s.OrderIndex(&fleet[1]), "azure-eu is not named")
}

func TestParseErrorsNameTheMember(t *testing.T) {
	for js, want := range map[string]string{
		`"perf"`:                                    "routing: must be a strategy name or an object",
		`{"sort":"fastest"}`:                        `routing.sort: invalid value "fastest": use`,
		`{"sort":3}`:                                `routing.sort: invalid value 3`,
		`{"only":"openai"}`:                         `routing.only: must be an array`,
		`{"only":["openai",3]}`:                     `routing.only[1]: must be a string, got 3`,
		`{"ignore":[""]}`:                           `routing.ignore[0]: must not be empty`,
		`{"ignore":["tag:"]}`:                       `routing.ignore[0]: must not be empty`,
		`{"order":["nope"]}`:                        `routing.order[0]: unknown vendor "nope"`,
		`{"only":["kind:nope"]}`:                    `routing.only[0]: unknown vendor kind "nope"`,
		`{"allow_fallbacks":"no"}`:                  `routing.allow_fallbacks: must be true or false, got "no"`,
		`{"max_price":3}`:                           `routing.max_price: must be an object`,
		`{"max_price":{"prompt":-1}}`:               `routing.max_price.prompt: must be a number of 0 or more`,
		`{"max_price":{"input":1}}`:                 `routing.max_price.input: unknown member`,
		`{"max_cost_usd":0}`:                        `routing.max_cost_usd: must be a number above 0, got 0`,
		`{"max_cost_usd":"1"}`:                      `routing.max_cost_usd: must be a number above 0`,
		`{"preferred_max_ttft_ms":-5}`:              `routing.preferred_max_ttft_ms: must be a number above 0`,
		`{"preferred_max_ttft_ms":1e300}`:           `routing.preferred_max_ttft_ms: is too large`,
		`{"provider":"x"}`:                          `routing.provider: unknown member: use sort, order`,
		`{"only":["openai"],"only":["groq"]}`:       `routing.only: appears twice`,
		`{"max_price":{"prompt":1,"prompt":1e999}}`: `routing.max_price.prompt: must be a number of 0 or more`,
	} {
		var p Prefs
		err := Parse(gjson.Parse(js), known, &p)
		var pe *Error
		require.ErrorAs(t, err, &pe, js)
		assert.Contains(t, pe.Error(), want, js)
	}
}

func TestParseEverything(t *testing.T) {
	p := parse(t, `{"sort":"price","order":["groq","tag:eu"],"only":["kind:openai_compatible","azure-eu"],
		"ignore":["tag:us"],"allow_fallbacks":false,"max_price":{"prompt":3,"completion":12},
		"max_cost_usd":0.05,"preferred_max_ttft_ms":1500}`)
	assert.Equal(t, Prefs{
		Sort: selector.Price, HasSort: true,
		Order:   []Match{{MatchID, "groq"}, {MatchTag, "eu"}},
		Only:    []Match{{MatchKind, "openai_compatible"}, {MatchID, "azure-eu"}},
		HasOnly: true, Ignore: []Match{{MatchTag, "us"}}, NoFallbacks: true,
		MaxPrompt: Ceiling{3, true}, MaxCompletion: Ceiling{12, true}, MaxCost: Ceiling{0.05, true},
		PreferredMaxTTFT: 1500 * time.Millisecond,
	}, *p)
	assert.Equal(t, "tag:eu", p.Order[1].String())
	assert.Equal(t, "kind:openai_compatible", p.Only[0].String())
	assert.Equal(t, "groq=routing.only, openai=vendor_header",
		Header([]Exclusion{{"groq", "routing.only"}, {"openai", "vendor_header"}}))
}

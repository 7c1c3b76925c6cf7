package vendors

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// OpenAI's API to the vendors that speak it themselves: openai, azure,
// mistral, deepseek, volcengine, x, openai_compatible, and google with api
// "openai". The client's body goes as it is, with only its "model" (and a
// stream's stream_options) changed and the kind's sanitizer applied; the
// answer comes back as it is, metered on the way.

// authScheme is how an OpenAI-compatible kind presents the API key.
type authScheme uint8

const (
	authBearer authScheme = iota // Authorization: Bearer <key>
	authAPIKey                   // api-key: <key> (Azure)
)

// streamUsage is how a kind handles OpenAI's stream_options.
type streamUsage uint8

const (
	// usageRequested: the kind accepts stream_options, so the router asks for
	// the usage chunk on every streamed request.
	usageRequested streamUsage = iota
	// usagePassThrough: the kind's support is unknown (any OpenAI-shaped
	// server): the client's stream_options go as they are, nothing is added.
	usagePassThrough
	// usageRejected: the kind refuses stream_options (Mistral: 422
	// extra_forbidden) but reports usage on its last chunk anyway, so the
	// field is removed.
	usageRejected
)

// compatOptions are what tell one OpenAI-compatible kind from another.
type compatOptions struct {
	endpoints endpointSet
	auth      authScheme
	// streamUsage is how the kind takes stream_options.include_usage, which
	// the router needs to meter streamed requests.
	streamUsage streamUsage
	// sanitize fixes what the kind's API would reject in a chat body
	// written for OpenAI (see sanitize.go); nil leaves the body as it is.
	sanitize func(body []byte, a Attempt) ([]byte, error)
	// classify recognises the kind's own error bodies; nil: the generic
	// verdict of the status.
	classify func(status int, body []byte) (Verdict, bool)
	// probe is the kind's free metadata call for health probes (probe.go).
	probe probeStyle
}

// compatBackend is a vendor that speaks OpenAI's API itself.
type compatBackend struct {
	opts      compatOptions
	endpoints endpointSet
	// paths are each endpoint's URL path and raw path, worked out once
	// (building them per attempt cost allocations).
	paths [numEndpoints]struct{ path, rawPath string }
	// prefix is what the kind's paths add to the base path (the Gemini
	// API's compatible endpoint); query is the RawQuery every request
	// carries (Azure's api-version).
	prefix, query string
	// modelPath, when set, works out an endpoint's path from the model
	// instead (Azure's classic layout names the deployment in the path).
	modelPath func(e Endpoint, model string) (path, rawPath string, err error)
	// authName and authValue are the credential header, worked out once;
	// "" when the vendor has no key (a local server).
	authName, authValue string
}

// compatKind returns the backend constructor of an OpenAI-compatible kind.
func compatKind(opts compatOptions) func(v *Vendor, c Config) (backend, *ConfigError) {
	return func(v *Vendor, _ Config) (backend, *ConfigError) {
		return newCompatBackend(v, opts, ""), nil
	}
}

// newCompatBackend returns the backend of an OpenAI-compatible vendor whose
// endpoints are at its base path plus prefix.
func newCompatBackend(v *Vendor, opts compatOptions, prefix string) *compatBackend {
	b := &compatBackend{opts: opts, endpoints: opts.endpoints, prefix: prefix}
	for e := range numEndpoints {
		rel := prefix + "/" + e.String()
		b.paths[e].path, b.paths[e].rawPath = v.below(rel, rel)
	}
	if v.key != "" {
		switch opts.auth {
		case authAPIKey:
			b.authName, b.authValue = "Api-Key", v.key
		default:
			b.authName, b.authValue = "Authorization", "Bearer "+v.key
		}
	}
	return b
}

func (b *compatBackend) serves(e Endpoint) bool { return b.endpoints.has(e) }

func (b *compatBackend) classify(status int, body []byte) (Verdict, bool) {
	if b.opts.classify == nil {
		return Verdict{}, false
	}
	return b.opts.classify(status, body)
}

// compatTranslator is one attempt at an OpenAI-compatible vendor. It is
// pooled, with its meter, because it is the hot path.
type compatTranslator struct {
	v *Vendor
	b *compatBackend
	a Attempt
	m meter.Stream
}

var compatPool = sync.Pool{New: func() any { return new(compatTranslator) }}

func newCompatTranslator(v *Vendor, b *compatBackend, a Attempt) *compatTranslator {
	t := compatPool.Get().(*compatTranslator)
	t.v, t.b, t.a = v, b, a
	t.m.Reset(meter.StreamOptions{ClientWantsUsage: a.ClientWantsUsage, PromptEstimate: a.PromptTokens})
	return t
}

// Request sends the client's body with the vendor's model name to the
// endpoint's path.
func (t *compatTranslator) Request(out *http.Request) error {
	a, b := t.a, t.b
	o := outgoing{path: b.paths[a.Endpoint].path, rawPath: b.paths[a.Endpoint].rawPath, query: b.query,
		authName: b.authName, authValue: b.authValue}
	if b.modelPath != nil {
		var err error
		if o.path, o.rawPath, err = b.modelPath(a.Endpoint, a.Model); err != nil {
			return t.v.refused(err)
		}
	}
	body, err := b.shapeBody(a)
	if err == nil && b.opts.sanitize != nil && a.Endpoint == ChatCompletions {
		// The sanitizer reads the names in a.Layout, which is the client
		// body's: add those shapeBody may have inserted.
		a.Layout.fields |= b.shapeInserts(a)
		body, err = b.opts.sanitize(body, a)
	}
	if err != nil {
		return t.v.refused(err)
	}
	o.body = body
	return t.v.send(out, &o)
}

// ResponseHeaders: the answer is already in the client's API.
func (t *compatTranslator) ResponseHeaders(*http.Response) {}

func (t *compatTranslator) Feed(p []byte, _ bool) error {
	t.m.Feed(p)
	return nil
}

func (t *compatTranslator) Output() []byte             { return t.m.Output() }
func (t *compatTranslator) End()                       { t.m.End() }
func (t *compatTranslator) Committed() bool            { return t.m.Committed() }
func (t *compatTranslator) Done() bool                 { return t.m.Done() }
func (t *compatTranslator) Err() *meter.VendorError    { return t.m.Err() }
func (t *compatTranslator) Usage() billing.Usage       { return t.m.Usage() }
func (t *compatTranslator) Interrupt(msg, code string) { t.m.Interrupt(msg, code) }

// Answer passes the answer on as it is.
func (t *compatTranslator) Answer(body []byte) ([]byte, meter.Result, error) {
	return body, meter.InspectJSON(body, t.a.PromptTokens), nil
}

// ErrorBody passes the vendor's error on, without the key.
func (t *compatTranslator) ErrorBody(_ http.Header, _ int, body []byte) []byte {
	return t.v.RedactBody(body)
}

// Release returns the translator to its pool.
func (t *compatTranslator) Release() {
	t.v, t.b, t.a = nil, nil, Attempt{}
	compatPool.Put(t)
}

// shapeBody returns the body an OpenAI-compatible attempt sends: the
// client's with "model" set to a.Model and, for a stream, stream_options
// adjusted to the kind (see withStreamUsage). When nothing changes, it is the
// client's body itself, not a copy; otherwise it is a new slice built with one
// copy. The client's body, which the next attempt reuses, is never touched.
func (b *compatBackend) shapeBody(a Attempt) ([]byte, error) {
	l := a.Layout
	if !l.Known {
		var err error
		if l, err = LayoutOf(a.Body); err != nil {
			return nil, err
		}
	}
	var ins []byte // members inserted after '{', each followed by a comma
	var edits [3]edit
	n := 0
	switch {
	case l.ModelCount == 0:
		ins = append(appendJSONString(append(ins, `"model":`...), a.Model), ',')
	case l.ModelCount > 1:
		return b.slowBody(a) // normalised to one "model", see withModel
	case !isJSONString(a.Body[l.Model.Start:l.Model.End], a.Model):
		edits[n] = edit{at: l.Model, with: appendJSONString(nil, a.Model)}
		n++
	}
	if a.Stream {
		switch b.opts.streamUsage {
		case usageRequested:
			opts := a.Body[l.StreamOptions.Start:l.StreamOptions.End]
			switch {
			case l.StreamOptionsCount == 0:
				ins = append(ins, `"stream_options":{"include_usage":true},`...)
			case l.StreamOptionsCount > 1 || !gjson.ParseBytes(opts).IsObject():
				return b.slowBody(a)
			case gjson.Get(jsonwalk.View(opts), "include_usage").Type != gjson.True:
				updated, err := sjson.SetBytes(opts, "include_usage", true)
				if err != nil {
					return nil, fmt.Errorf("setting stream_options.include_usage: %w", err)
				}
				edits[n] = edit{at: l.StreamOptions, with: updated}
				n++
			}
		case usageRejected:
			if l.StreamOptionsCount > 0 {
				return b.slowBody(a)
			}
		}
	}
	if ins != nil {
		if l.Members == 0 {
			ins = ins[:len(ins)-1]
		}
		// Every member starts after '{', so the insertion comes first.
		copy(edits[1:], edits[:n])
		edits[0] = edit{at: Span{l.Open + 1, l.Open + 1}, with: ins}
		n++
	}
	if n == 2 && edits[1].at.Start < edits[0].at.Start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	if n == 0 {
		return a.Body, nil
	}
	return splice(a.Body, edits[:n]...), nil
}

// shapeInserts is the top-level names shapeBody (or slowBody) may add to
// a's body: "model" always, "stream_options" to a stream where the kind asks
// for the usage chunk (withStreamUsage).
func (b *compatBackend) shapeInserts(a Attempt) fieldSet {
	if a.Stream && b.opts.streamUsage == usageRequested {
		return fieldModel | fieldStreamOptions
	}
	return fieldModel
}

// slowBody is shapeBody for the bodies its splicing does not
// cover (duplicate members, a stream_options to remove): whole-body sjson
// rewrites.
func (b *compatBackend) slowBody(a Attempt) ([]byte, error) {
	body, err := withModel(a.Body, a.Model)
	if err == nil && a.Stream {
		body, err = b.withStreamUsage(body)
	}
	return body, err
}

// withModel returns a copy of body with the top-level "model" set to model.
//
// sjson.SetBytes and DeleteBytes without ReplaceInPlace never write into
// their input (they build a new slice), so the caller's body, which the next
// attempt reuses, is never touched.
//
// A body with several top-level "model" keys is normalised to one: sjson would
// replace only the first while many JSON decoders keep the last, which would
// let a client choose the model the vendor actually runs (and bills for).
// body must be a valid JSON object.
func withModel(body []byte, model string) ([]byte, error) {
	// A read-only view: gjson.ParseBytes would copy the whole body.
	root := gjson.Parse(jsonwalk.View(body))
	if !root.IsObject() {
		return nil, errors.New("request body is not a JSON object")
	}
	n := 0
	root.ForEach(func(k, _ gjson.Result) bool {
		if k.String() == "model" {
			n++
		}
		return true
	})
	out := body
	if n > 1 {
		for range n {
			var err error
			if out, err = sjson.DeleteBytes(out, "model"); err != nil {
				return nil, fmt.Errorf("removing duplicate model fields: %w", err)
			}
		}
	}
	out, err := sjson.SetBytes(out, "model", model)
	if err != nil {
		return nil, fmt.Errorf("setting model: %w", err)
	}
	return out, nil
}

// withStreamUsage adjusts a streamed request's stream_options to the kind:
// asks for the usage chunk where the kind accepts it (the router strips it
// again if the client did not ask), removes the field where the kind refuses
// it. body is already the attempt's own copy.
func (b *compatBackend) withStreamUsage(body []byte) ([]byte, error) {
	switch b.opts.streamUsage {
	case usageRequested:
		if gjson.GetBytes(body, "stream_options.include_usage").Type == gjson.True {
			return body, nil
		}
		return sjson.SetBytes(body, "stream_options.include_usage", true)
	case usageRejected:
		if !gjson.GetBytes(body, "stream_options").Exists() {
			return body, nil
		}
		return sjson.DeleteBytes(body, "stream_options")
	}
	return body, nil
}

// Interface guards
var (
	_ backend    = (*compatBackend)(nil)
	_ Translator = (*compatTranslator)(nil)
)

package vendors

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"
)

// A health probe checks a vendor without paying for it: a GET of the
// kind's model metadata with the vendor's real credentials. It proves what
// the router's own breakers cannot learn without traffic: that the key is
// accepted, that the host answers, and, where the call names the model,
// that the vendor serves it.

// ErrNoProbe is ProbeRequest's answer for a kind that has no free metadata
// call the router knows of (volcengine, vertex).
var ErrNoProbe = errors.New("this vendor kind has no free metadata call to probe")

// probeStyle is how an OpenAI-compatible kind can be probed.
type probeStyle uint8

const (
	probeModel probeStyle = iota // GET {base}/models/{model}: names the model
	probeList                    // GET {base}/models: the key and the host only
	probeNone                    // no known free call
)

// modelProber is a backend with a free metadata call.
type modelProber interface {
	// probe shapes out into the call about model, and says whether a
	// success proves that the model is served.
	probe(v *Vendor, out *http.Request, model string) (checksModel bool, err error)
}

// ProbeRequest shapes out (a request the caller made, whose context bounds
// the probe) into the vendor's free metadata call about model (the
// vendor-side name), credentials included; ErrNoProbe when the kind has
// none. checksModel reports whether a success proves the model is served
// there, not only the key and the host (a kind whose call lists models
// rather than naming one).
func (v *Vendor) ProbeRequest(out *http.Request, model string) (checksModel bool, err error) {
	p, ok := v.backend.(modelProber)
	if !ok {
		return false, ErrNoProbe
	}
	if checksModel, err = p.probe(v, out, model); err != nil {
		return false, err
	}
	out.Method = http.MethodGet
	out.Header.Del("Content-Type")
	out.Body, out.GetBody, out.ContentLength = http.NoBody, nil, 0
	return checksModel, nil
}

// CanProbe reports whether the vendor's kind has a free metadata call
// (ProbeRequest would not answer ErrNoProbe).
func (v *Vendor) CanProbe() bool {
	switch b := v.backend.(type) {
	case *compatBackend:
		return b.modelPath != nil || b.opts.probe != probeNone
	case modelProber:
		return true
	}
	return false
}

// ProbeOutcome judges a probe's answer: ok for a 2xx (and, for a list,
// whether it names model: a list without it proves only the key); failure
// is the reason a failing probe counts against the route (auth, not_found),
// "" when the answer proves nothing either way (a 429 or 5xx says the
// vendor is busy now, not that the key or model is wrong; a 404 of a list
// call says the kind has no such list).
func (v *Vendor) ProbeOutcome(status int, h http.Header, body []byte, model string, checksModel bool) (ok, modelSeen bool, failure string) {
	if status >= 200 && status < 300 {
		if checksModel {
			return true, true, ""
		}
		seen := false
		gjson.GetBytes(body, "data.#.id").ForEach(func(_, id gjson.Result) bool {
			seen = id.String() == model
			return !seen
		})
		return true, seen, ""
	}
	verdict := v.ClassifyResponse(status, h, body)
	switch verdict.Reason {
	case ReasonAuth:
		return false, false, ReasonAuth
	case ReasonNotFound:
		if checksModel {
			return false, false, ReasonNotFound
		}
	}
	return false, false, ""
}

// probe implements modelProber for the OpenAI-compatible kinds.
func (b *compatBackend) probe(v *Vendor, out *http.Request, model string) (bool, error) {
	o := outgoing{query: b.query, authName: b.authName, authValue: b.authValue}
	style := b.opts.probe
	if b.modelPath != nil {
		// Azure's classic layout: the deployments are not listed on the
		// data plane; the models list proves the key and the resource.
		o.path, o.rawPath = v.below("/openai/models", "/openai/models")
		return false, v.send(out, &o)
	}
	switch style {
	case probeNone:
		return false, ErrNoProbe
	case probeList:
		o.path, o.rawPath = v.below(b.prefix+"/models", b.prefix+"/models")
		return false, v.send(out, &o)
	}
	o.path, o.rawPath = v.below(b.prefix+"/models/"+model, b.prefix+"/models/"+url.PathEscape(model))
	return true, v.send(out, &o)
}

// probe implements modelProber: GET /v1/models/{model}, Anthropic's free
// model lookup.
func (b *anthropicBackend) probe(v *Vendor, out *http.Request, model string) (bool, error) {
	suffix := "/v1/models/"
	if strings.HasSuffix(v.basePath, "/v1") { // as for /messages
		suffix = "/models/"
	}
	o := outgoing{authName: "X-Api-Key", authValue: v.key, protocolName: "Anthropic-Version", protocolValue: anthropicVersion}
	o.path, o.rawPath = v.below(suffix+model, suffix+url.PathEscape(model))
	return true, v.send(out, &o)
}

// probe implements modelProber: GET /v1beta/models/{model} of the Gemini
// API (the embeddings' compatible endpoint is not probed apart).
func (b *geminiBackend) probe(v *Vendor, out *http.Request, model string) (bool, error) {
	name := geminiModelName(model)
	o := outgoing{authName: "X-Goog-Api-Key", authValue: v.key}
	o.path, o.rawPath = v.below("/v1beta/models/"+name, "/v1beta/models/"+url.PathEscape(name))
	return true, v.send(out, &o)
}

// probe implements modelProber: Bedrock's control plane,
// GetFoundationModel (GET /foundation-models/{id}) or, for an inference
// profile (us.…, eu.…, global.…, or an ARN), GetInferenceProfile, signed
// as the runtime calls are. The control plane is bedrock.{region}, where
// the runtime is bedrock-runtime.{region}; a base URL of another shape (a
// gateway, a test) is used as it is.
func (b *bedrockBackend) probe(v *Vendor, out *http.Request, model string) (bool, error) {
	host := awsHost(v.base)
	if rest, ok := strings.CutPrefix(host, "bedrock-runtime."); ok {
		host = "bedrock." + rest
	}
	resource := "/foundation-models/"
	if bedrockIsProfile(model) {
		resource = "/inference-profiles/"
	}
	o := outgoing{host: host}
	o.path, o.rawPath = v.below(resource+model, resource+bedrockEscapeModelID(model))
	return true, b.sendSigned(v, out, &o, http.MethodGet)
}

// bedrockIsProfile reports whether a Bedrock model id names an inference
// profile (a geography prefix, or an ARN) rather than a foundation model.
func bedrockIsProfile(model string) bool {
	if strings.HasPrefix(model, "arn:") {
		return strings.Contains(model, ":inference-profile/") || strings.Contains(model, ":application-inference-profile/")
	}
	geo, _, ok := strings.Cut(model, ".")
	if !ok {
		return false
	}
	switch geo {
	case "us", "eu", "apac", "global", "us-gov", "jp", "au", "ca":
		return true
	}
	return false
}

// Interface guards
var (
	_ modelProber = (*compatBackend)(nil)
	_ modelProber = (*anthropicBackend)(nil)
	_ modelProber = (*geminiBackend)(nil)
	_ modelProber = (*bedrockBackend)(nil)
)

package llmrouter

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/vendors"
)

// VendorConfig declares one vendor: where it is, how to authenticate, and the
// models it serves. The same kind may appear several times under different ids
// (for example two Azure resources in different regions).
type VendorConfig struct {
	// The vendor id: what clients name in the `vendor` header to pin a request,
	// and what the `X-LLM-Vendor` response header reports. Required and unique
	// (case-insensitively); `auto` is reserved.
	ID string `json:"id"`

	// The vendor kind: `openai`, `azure`, `anthropic` (the Messages API),
	// `aws` (Bedrock Converse), `google` (the Gemini API), `vertex` (Vertex
	// AI: Gemini and Claude), `mistral`, `deepseek`, `volcengine`, `x`, or
	// `openai_compatible` (any OpenAI-shaped server). Defaults to the id when
	// the id is a kind.
	Kind string `json:"kind,omitempty"`

	// The vendor's API base URL, such as `https://api.openai.com/v1`. Defaults to
	// the kind's public endpoint; required for `azure` (your resource, e.g.
	// `https://my-resource.openai.azure.com`, or `.../openai/v1` for Azure's v1
	// API) and `openai_compatible`. Placeholders are resolved at load time.
	BaseURL string `json:"base_url,omitempty"`

	// The API key the router uses at this vendor. Required by every kind but
	// `openai_compatible`. Use a placeholder such as `{env.OPENAI_API_KEY}` to
	// keep it out of the config; it is resolved at load time and never sent to
	// clients or written to logs.
	APIKey string `json:"api_key,omitempty"`

	// Azure only: the `api-version` query parameter of the classic deployment
	// API (default `2024-10-21`), or `v1` for Azure's v1 API.
	APIVersion string `json:"api_version,omitempty"`

	// Extra headers sent to this vendor on every request, such as
	// `OpenAI-Organization`. Values may use placeholders.
	Headers map[string]string `json:"headers,omitempty"`

	// The models this vendor serves.
	Models []ModelConfig `json:"models,omitempty"`

	// Labels of the operator's choosing, such as `eu` or `zdr`, that the
	// `routing` object's `only`, `ignore` and `order` and the
	// `routing_policy` name as `tag:<tag>`.
	Tags []string `json:"tags,omitempty"`

	// aws: the Bedrock region, e.g. `us-east-1` (the base URL defaults to
	// `https://bedrock-runtime.{region}.amazonaws.com`). vertex: the location,
	// e.g. `us-central1` or `global`.
	Region string `json:"region,omitempty"`

	// aws: SigV4 credentials. Leave them empty to use the standard AWS
	// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
	// `AWS_SESSION_TOKEN`), or set `api_key` to a Bedrock API key instead.
	// Placeholders are resolved at load time.
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	SessionToken    string `json:"session_token,omitempty"`

	// vertex: the Google Cloud project id.
	Project string `json:"project,omitempty"`

	// vertex: the path of a service account key file (JSON). Default: the
	// file named by `GOOGLE_APPLICATION_CREDENTIALS`. Access tokens are
	// fetched with it, cached and refreshed before they expire.
	CredentialsFile string `json:"credentials_file,omitempty"`

	// anthropic, aws, vertex (Claude): the `max_tokens` sent when the client
	// sets none, since these APIs require one. Default: 4096.
	MaxTokens int `json:"max_tokens,omitempty"`

	// google: `native` (default: the Gemini API's generateContent) or
	// `openai` (Gemini's OpenAI-compatible endpoint).
	API string `json:"api,omitempty"`

	// Health probes of this vendor's models, which find a bad key, a
	// missing model or an unreachable host before a client does, and let
	// a breaker opened for one of those close without a client's request:
	//
	//   - `models` (default where the kind has one): the kind's free
	//     metadata call with the vendor's credentials (`GET …/models/{id}`,
	//     Anthropic's and Gemini's model lookups, Bedrock's
	//     GetFoundationModel or GetInferenceProfile; Azure, DeepSeek and
	//     `openai_compatible` list their models, which proves the key and
	//     the host, and the model when the list names it). `volcengine` and
	//     `vertex` have none: their default is `off`;
	//   - `completion`: the smallest chat request (one token); it costs
	//     tokens, absorbed by the house under the ledger client `(probe)`,
	//     never a client's; any 4xx counts as a failing probe;
	//   - `off`.
	//
	// A probe runs only for a route whose breaker opened for an auth,
	// not-found or connection failure, and for routes idle for longer than
	// `stale_after`; a probe that succeeds closes only such a breaker
	// (throttling, overload and quota still need a real request). With
	// `shared redis`, one instance probes each vendor per interval.
	Probe string `json:"probe,omitempty"`

	// How often a vendor's routes may be probed. Default: 1m.
	ProbeInterval caddy.Duration `json:"probe_interval,omitempty"`
}

// ModelConfig is one model a vendor serves, with its price at that vendor.
// Prices are in USD per 1M tokens; a vendor without prices ranks after priced
// vendors under `price` routing.
type ModelConfig struct {
	// The model name clients ask for, e.g. `gpt-4o`.
	Name string `json:"name"`

	// The vendor's own name for the model (for Azure: the deployment name).
	// Default: the same as Name.
	VendorModel string `json:"vendor_model,omitempty"`

	// USD per 1M prompt tokens.
	InputPrice *float64 `json:"input_price,omitempty"`

	// USD per 1M completion tokens.
	OutputPrice *float64 `json:"output_price,omitempty"`

	// USD per 1M prompt tokens served from the vendor's prompt cache.
	CachedInputPrice *float64 `json:"cached_input_price,omitempty"`
}

// vendorStringSettings are the vendor settings that take one string value:
// the name the Caddyfile and the JSON config give each, its field in
// VendorConfig, and its field in vendors.Config, which gets the value with
// its placeholders resolved. The Caddyfile parser and the route table read
// this one list, so that a new setting is one line here (and its fields).
// credentials_file has no vendors.Config field: the route table reads the
// file it names.
var vendorStringSettings = []struct {
	name   string
	config func(*VendorConfig) *string
	vendor func(*vendors.Config) *string
}{
	{"base_url", func(c *VendorConfig) *string { return &c.BaseURL }, func(c *vendors.Config) *string { return &c.BaseURL }},
	{"api_key", func(c *VendorConfig) *string { return &c.APIKey }, func(c *vendors.Config) *string { return &c.APIKey }},
	{"api_version", func(c *VendorConfig) *string { return &c.APIVersion }, func(c *vendors.Config) *string { return &c.APIVersion }},
	{"region", func(c *VendorConfig) *string { return &c.Region }, func(c *vendors.Config) *string { return &c.Region }},
	{"access_key_id", func(c *VendorConfig) *string { return &c.AccessKeyID }, func(c *vendors.Config) *string { return &c.AccessKeyID }},
	{"secret_access_key", func(c *VendorConfig) *string { return &c.SecretAccessKey }, func(c *vendors.Config) *string { return &c.SecretAccessKey }},
	{"session_token", func(c *VendorConfig) *string { return &c.SessionToken }, func(c *vendors.Config) *string { return &c.SessionToken }},
	{"project", func(c *VendorConfig) *string { return &c.Project }, func(c *vendors.Config) *string { return &c.Project }},
	{"api", func(c *VendorConfig) *string { return &c.API }, func(c *vendors.Config) *string { return &c.API }},
	{"credentials_file", func(c *VendorConfig) *string { return &c.CredentialsFile }, nil},
}

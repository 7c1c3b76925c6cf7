package vendors

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
)

// backend is a vendor's own part, built once from its config by its kind:
// which endpoints it serves, what its error bodies mean, and the state its
// requests need (paths, credentials, a token source...). The kinds that speak
// the OpenAI API share compatBackend, configured per kind; every kind with an
// API of its own has its own type. Translator (translator.go) picks the
// translation from the backend's type and the client's endpoint.
type backend interface {
	// serves reports whether the vendor takes requests for endpoint e.
	serves(e Endpoint) bool
	// classify recognises the vendor's own error bodies (an auth failure
	// reported as a 400, an account out of money...); ok=false keeps the
	// generic verdict of the status.
	classify(status int, body []byte) (verdict Verdict, ok bool)
}

// outgoing is an attempt's request in the vendor's terms, as a translator
// writes it. A translator builds it first, doing everything that can fail
// (translating the body, fetching a token), and only then hands it to
// Vendor.send, which changes the http.Request: so a request the vendor cannot
// take leaves the attempt's request untouched.
type outgoing struct {
	// path is the URL path, the vendor's base path included; rawPath is its
	// escaped form when Go's default encoding of path would differ (an
	// escaped "/" inside a model name), else "".
	path, rawPath string
	query         string
	// host replaces the base URL's host when set (Bedrock signs the host
	// without a default port).
	host string
	body []byte
	// authName and authValue are the credential header; "" sends none.
	// Both names are in canonical form (send sets them as they are).
	authName, authValue string
	// protocol is a header the vendor's API requires with this exact value
	// (anthropic-version); it wins over an operator header of the same name.
	protocolName, protocolValue string
	// plain asks for an uncompressed answer: the translator reads it, so the
	// transport must negotiate (and undo) compression itself.
	plain bool
	// finish, when set, runs last, on the finished request and its body:
	// Bedrock drops headers its signature must not cover, then signs.
	finish func(out *http.Request, body []byte) error
}

// credentialHeaders are every header any vendor (or client SDK) uses for a
// credential. send clears them all so that a client's credential can never
// reach a vendor and a vendor never sees two competing credentials.
var credentialHeaders = []string{"Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key"}

// send applies o to out, a request clone the attempt owns. It is the one
// path every attempt's request takes, whatever its translation:
//
//   - out.URL is replaced: the vendor's scheme and host, o's path and only
//     the query the vendor needs (the client's query is dropped); out.Host
//     is cleared so Go sends URL.Host;
//   - every credential header is removed, then the operator's extra headers,
//     the API's own header and the vendor's credential are set (in that
//     order, so the credential wins over an extra header of the same name),
//     plus Content-Type: application/json;
//   - out.Body, out.GetBody and out.ContentLength describe o.body; the
//     Content-Length header and any Transfer-Encoding are dropped because
//     they described the client's body;
//   - o.finish runs last.
func (v *Vendor) send(out *http.Request, o *outgoing) error {
	host := o.host
	if host == "" {
		host = v.base.Host
	}
	out.URL = &url.URL{Scheme: v.base.Scheme, Host: host, Path: o.path, RawPath: o.rawPath, RawQuery: o.query}
	out.Host = ""

	if out.Header == nil {
		out.Header = make(http.Header)
	}
	// Every name below is in canonical form, the form Go's server stores
	// the client's headers in: the map is written directly, without Del's
	// and Set's canonicalizing of each name (seven calls a request).
	h := out.Header
	for _, name := range credentialHeaders {
		delete(h, name)
	}
	for name, values := range v.headers {
		// Cloned so that a caller appending to out.Header cannot reach the
		// Vendor's shared copy.
		h[name] = slices.Clone(values)
	}
	if o.protocolName != "" {
		h[o.protocolName] = []string{o.protocolValue}
	}
	if o.authName != "" {
		h[o.authName] = []string{o.authValue}
	}
	h["Content-Type"] = []string{"application/json"}
	delete(h, "Content-Length")
	if o.plain {
		delete(h, "Accept-Encoding")
	}

	setBody(out, o.body)
	out.TransferEncoding = nil
	if o.finish != nil {
		return o.finish(out, o.body)
	}
	return nil
}

// setBody installs body on out, with a consistent length and a GetBody that
// can replay it (redirects, HTTP/2 retries).
func setBody(out *http.Request, body []byte) {
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
}

// rawPathIfNeeded returns raw when Go's default encoding of path would differ
// from it (e.g. an escaped "/" inside a segment), else "", as url.URL expects.
func rawPathIfNeeded(path, raw string) string {
	if (&url.URL{Path: path}).EscapedPath() == raw {
		return ""
	}
	return raw
}

// below returns the path and raw path of suffix below the vendor's base path;
// rawSuffix is suffix with its variable segments escaped.
func (v *Vendor) below(suffix, rawSuffix string) (path, rawPath string) {
	path = v.basePath + suffix
	return path, rawPathIfNeeded(path, v.baseRawPath+rawSuffix)
}

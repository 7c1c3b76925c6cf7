package llmrouter

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The dashboard is a static page (dashboard/index.html, app.js, style.css
// and the vendored uPlot) that reads the JSON of /llm_router/stats and
// /llm_router/usage, relative to its own URL, every few seconds. It is
// served in two places: Caddy's admin endpoint at /llm_router/, and any
// site that mounts the llm_router_dashboard handler.
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboardAsset is one embedded file, ready to serve.
type dashboardAsset struct {
	body        []byte
	contentType string
	etag        string
}

// dashboardAssets are the embedded files by name (the page is "").
var dashboardAssets = func() map[string]dashboardAsset {
	assets := make(map[string]dashboardAsset)
	err := fs.WalkDir(dashboardFiles, "dashboard", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dashboardFiles.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "dashboard/")
		if name == "index.html" {
			name = ""
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" || path.Base(p) == "LICENSE" || path.Base(p) == "VERSION" {
			ct = "text/plain; charset=utf-8"
		}
		sum := sha256.Sum256(body)
		assets[name] = dashboardAsset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("llm_router: reading the embedded dashboard: " + err.Error())
	}
	return assets
}()

// dashboardCSP lets the page load only its own scripts and styles and talk
// only to its own origin: whatever a route or client name holds, the page
// can reach no other host.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveDashboardAsset writes the embedded file name ("" is the page); it
// reports false when there is no such file.
func serveDashboardAsset(w http.ResponseWriter, r *http.Request, name string) bool {
	a, ok := dashboardAssets[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// The page's requests must carry a Referer: the admin endpoint checks
	// the origin of every request a browser makes.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("Etag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	return true
}

// serveDashboardAdmin serves the page and its files under /llm_router/ on
// the admin endpoint; the JSON it reads has routes of its own there.
func serveDashboardAdmin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethodGet}
	}
	if !serveDashboardAsset(w, r, strings.TrimPrefix(r.URL.Path, "/llm_router/")) {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("not found: the dashboard is at /llm_router/")}
	}
	return nil
}

func init() {
	caddy.RegisterModule(Dashboard{})
	httpcaddyfile.RegisterHandlerDirective("llm_router_dashboard", parseDashboardCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("llm_router_dashboard", httpcaddyfile.Before, "reverse_proxy")
}

// Dashboard serves the router's dashboard on a site, for operators who
// cannot reach the admin endpoint (which listens on localhost by default).
// It shows every llm_router handler of the process, as the admin endpoint
// does, and writes nothing; but what it shows (client names, spend,
// vendors) is for operators only: put `basic_auth` or `forward_auth` in
// front of it.
//
// It answers, relative to the path it is mounted on: the page at any path
// that ends in `/`, the JSON of /llm_router/stats at `…/stats` and of
// /llm_router/usage at `…/usage` (the same query parameters), and the
// page's scripts and styles. Other requests go to the next handler.
//
// Caddyfile: `llm_router_dashboard` (no arguments), for example inside
// `handle /llm-dashboard/*`.
type Dashboard struct{}

// CaddyModule returns the Caddy module information.
func (Dashboard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_router_dashboard",
		New: func() caddy.Module { return new(Dashboard) },
	}
}

// ServeHTTP serves the dashboard and its data, and passes other requests on.
func (Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	var serveJSON func(http.ResponseWriter, *http.Request) error
	switch name := path.Base(r.URL.Path); {
	case strings.HasSuffix(r.URL.Path, "/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return writeJSONError(w, caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethodGet})
		}
		serveDashboardAsset(w, r, "")
		return nil
	case name == "stats":
		serveJSON = serveStats
	case name == "usage":
		serveJSON = serveUsage
	default:
		rel := dashboardAssetName(r.URL.Path)
		if rel == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !serveDashboardAsset(w, r, rel) {
			return next.ServeHTTP(w, r)
		}
		return nil
	}
	if err := serveJSON(w, r); err != nil {
		return writeJSONError(w, err)
	}
	return nil
}

// dashboardAssetName finds the embedded file a request path ends with (the
// page's files are at most two levels deep: app.js, uplot/uPlot.min.css),
// or "".
func dashboardAssetName(p string) string {
	base := path.Base(p)
	parent := path.Base(path.Dir(p))
	if _, ok := dashboardAssets[parent+"/"+base]; ok {
		return parent + "/" + base
	}
	if _, ok := dashboardAssets[base]; ok && base != "" {
		return base
	}
	return ""
}

// writeJSONError answers as Caddy's admin endpoint does: {"error": "…"}
// with the error's status.
func writeJSONError(w http.ResponseWriter, err error) error {
	var apiErr caddy.APIError
	if !errors.As(err, &apiErr) {
		apiErr = caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	if apiErr.Message == "" && apiErr.Err != nil {
		apiErr.Message = apiErr.Err.Error()
	}
	if apiErr.HTTPStatus == 0 {
		apiErr.HTTPStatus = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(apiErr.HTTPStatus)
	return json.NewEncoder(w).Encode(apiErr)
}

// parseDashboardCaddyfile sets up the handler from Caddyfile tokens:
//
//	llm_router_dashboard
func parseDashboardCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var d Dashboard
	err := d.UnmarshalCaddyfile(h.Dispenser)
	return d, err
}

// UnmarshalCaddyfile reads the directive, which takes no arguments.
func (Dashboard) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("llm_router_dashboard takes no settings, got %q", d.Val())
	}
	return nil
}

// Interface guards
var (
	_ caddyhttp.MiddlewareHandler = Dashboard{}
	_ caddyfile.Unmarshaler       = Dashboard{}
)

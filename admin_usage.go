package llmrouter

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/internal/ledger"
)

// serveUsage answers `GET /llm_router/usage` on the admin endpoint: usage
// and cost over time from the ledger's rollups, as JSON or CSV.
//
// Query parameters:
//
//	from, to     the range, [from, to): RFC 3339 (`2026-12-01T15:00:00Z`) or a
//	             UTC date (`2026-12-01`). Default: all of the ledger.
//	group_by     a comma-separated list of client, model, vendor. Default: none,
//	             one row per day or hour.
//	granularity  day (default) or hour.
//	format       json (default) or csv.
func serveUsage(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethodGet}
	}
	q, format, err := parseUsageQuery(r)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	rows := []ledger.UsageRow{}
	answered := false
	for _, l := range liveLedgers() {
		got, err := l.Usage(r.Context(), q)
		if errors.Is(err, ledger.ErrNoHistory) {
			continue
		}
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("reading the ledger: %v", err)}
		}
		answered = true
		rows = append(rows, got...)
	}
	if !answered {
		return caddy.APIError{HTTPStatus: http.StatusNotFound,
			Err: errors.New("no ledger keeps usage over time: configure `ledger sqlite` (the default) or `ledger postgres`")}
	}
	if format == "csv" {
		return writeUsageCSV(w, q, rows)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(struct {
		From        *time.Time        `json:"from,omitempty"`
		To          *time.Time        `json:"to,omitempty"`
		Granularity string            `json:"granularity"`
		GroupBy     []string          `json:"group_by"`
		Rows        []ledger.UsageRow `json:"rows"`
	}{timeOrNil(q.From), timeOrNil(q.To), q.Granularity, q.GroupBy, rows})
}

// parseUsageQuery reads the usage query and the answer's format from r.
func parseUsageQuery(r *http.Request) (q ledger.UsageQuery, format string, err error) {
	v := r.URL.Query()
	if q.From, err = parseUsageTime("from", v.Get("from")); err != nil {
		return q, "", err
	}
	if q.To, err = parseUsageTime("to", v.Get("to")); err != nil {
		return q, "", err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, "", errors.New("to must be after from")
	}
	if q.GroupBy, err = ledger.ParseGroupBy(v.Get("group_by")); err != nil {
		return q, "", err
	}
	if q.Granularity, err = ledger.ParseGranularity(v.Get("granularity")); err != nil {
		return q, "", err
	}
	switch format = v.Get("format"); format {
	case "", "json":
		format = "json"
	case "csv":
	default:
		return q, "", fmt.Errorf("format: want json or csv, got %q", format)
	}
	return q, format, nil
}

// parseUsageTime reads an RFC 3339 time or a UTC date; "" is the zero time.
func parseUsageTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: want an RFC 3339 time (2026-12-01T15:00:00Z) or a date (2026-12-01), got %q", name, s)
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// writeUsageCSV writes rows as CSV with a header line; the grouping columns
// are those of the query.
func writeUsageCSV(w http.ResponseWriter, q ledger.UsageQuery, rows []ledger.UsageRow) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	header := append([]string{"start"}, q.GroupBy...)
	header = append(header, "requests", "successes", "failures", "billable_prompt_tokens", "billable_cached_tokens",
		"billable_completion_tokens", "absorbed_prompt_tokens", "absorbed_completion_tokens", "billable_cost_usd", "absorbed_cost_usd")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, row := range rows {
		rec := []string{row.Start.UTC().Format(time.RFC3339)}
		for _, g := range q.GroupBy {
			rec = append(rec, map[string]string{"client": row.Client, "model": row.Model, "vendor": row.Vendor}[g])
		}
		for _, n := range []int64{row.Requests, row.Successes, row.Failures, row.PromptTokens, row.CachedTokens,
			row.CompletionTokens, row.AbsorbedPromptTokens, row.AbsorbedCompletionTokens} {
			rec = append(rec, strconv.FormatInt(n, 10))
		}
		rec = append(rec, strconv.FormatFloat(row.BillableCostUSD, 'f', -1, 64),
			strconv.FormatFloat(row.AbsorbedCostUSD, 'f', -1, 64))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

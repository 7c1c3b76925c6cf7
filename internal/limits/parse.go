package limits

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// ParseQuantity reads a count as operators write it: a plain integer, or
// one with a k (thousand) or m (million) suffix, such as `200k` or `1.5m`.
// The result must be a whole number: `1.5k` is 1500, `1.0001k` an error.
func ParseQuantity(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "K"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "m"), strings.HasSuffix(t, "M"):
		mult, t = 1e6, t[:len(t)-1]
	}
	if mult == 1 {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number (like 60, 200k or 1m)", s)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "eEpPxX_") || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a quantity (like 60, 200k or 1m)", s)
	}
	v := f * mult
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(v), nil
}

// ParseUSD reads an amount of US dollars, with or without a leading `$`:
// `25`, `$25`, `0.50`. It refuses NaN, infinities and negative amounts.
func ParseUSD(s string) (float64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || strings.ContainsAny(t, "xXpP_") || strings.EqualFold(t, "nan") ||
		math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not an amount of USD (like 25 or $0.50)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return f, nil
}

// maxUSD is the largest budget whose micro-USD fit comfortably in an
// int64 (and in Redis's integers).
const maxUSD = 1e12

// microUSD converts a budget in USD to integer micro-USD, the unit every
// counter and the ledger use, so that sums are exact.
func microUSD(usd float64) (int64, error) {
	switch {
	case math.IsNaN(usd) || math.IsInf(usd, 0):
		return 0, errors.New("not a number")
	case usd <= 0:
		return 0, fmt.Errorf("%v: must be positive", usd)
	case usd > maxUSD:
		return 0, fmt.Errorf("%v: more than %v", usd, maxUSD)
	}
	m := billing.MicroUSD(usd)
	if m == 0 {
		return 0, fmt.Errorf("%v: less than a micro-USD", usd)
	}
	return m, nil
}

// parseWindow reads a sliding window or rolling period: a Go duration
// (`90s`, `1m`, `1h30m`) or a whole number of days (`1d`, `30d`), which Go
// durations lack.
func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a window (like 1m, 1h, 1d or 30d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a window (like 1m, 1h, 1d or 30d)", s)
		}
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("%q: a window is at least 1ms", s)
	}
	return d, nil
}

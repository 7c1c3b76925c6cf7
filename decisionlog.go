package llmrouter

import (
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/selector"
)

// decisionLog renders the ranking a request got: each candidate in order with
// its health tier, predicted latency and expected cost.
type decisionLog struct {
	st *requestState
}

func (d decisionLog) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddBool("explored", d.st.plan.explored)
	if pp := d.st.plan.prefs; pp != nil && len(pp.excluded) > 0 {
		excluded := pp.excluded
		_ = enc.AddArray("excluded", zapcore.ArrayMarshalerFunc(func(arr zapcore.ArrayEncoder) error {
			for _, e := range excluded {
				_ = arr.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
					o.AddString("vendor", e.Vendor)
					o.AddString("reason", e.Reason)
					return nil
				}))
			}
			return nil
		}))
	}
	if hr := d.st.attempts.hedge; hr.wasStarted() {
		enc.AddString("hedge", hr.headerValue())
		enc.AddFloat64("absorbed_cost_usd", d.st.result.absorbedCost)
	}
	return enc.AddArray("candidates", zapcore.ArrayMarshalerFunc(func(arr zapcore.ArrayEncoder) error {
		for i, rt := range d.st.plan.ranked {
			var sc selector.Score
			if i < len(d.st.plan.scores) {
				sc = d.st.plan.scores[i]
			}
			_ = arr.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
				o.AddString("vendor", rt.vendor.ID())
				o.AddString("tier", sc.Tier)
				o.AddFloat64("predicted_ms", sc.PredictedMS)
				o.AddFloat64("expected_cost_usd", sc.ExpectedCostUSD)
				return nil
			}))
		}
		return nil
	}))
}

type attemptsLog []attemptRecord

func (a attemptsLog) MarshalLogArray(arr zapcore.ArrayEncoder) error {
	for _, rec := range a {
		_ = arr.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
			o.AddString("vendor", rec.Vendor)
			o.AddInt("status", rec.Status)
			o.AddString("reason", rec.Reason)
			return nil
		}))
	}
	return nil
}

// Interface guards
var (
	_ zapcore.ObjectMarshaler = decisionLog{}
	_ zapcore.ArrayMarshaler  = attemptsLog(nil)
)

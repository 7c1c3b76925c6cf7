package sharedstate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// The wire format of a selector.State is JSON with short names, which
// redis-cli shows readably and a later version can extend: version "v"
// (wireVersion), the buckets with samples only, each with its index, and
// times as Unix nanoseconds (0 for the zero time). A State of a route that
// learned nothing is 7 bytes (it is not published); one with every bucket
// measured and its breaker open, under 900 bytes. Floats are written in the shortest form that reads back exactly,
// so a State survives the trip unchanged, times aside (they come back
// without their monotonic reading and in the local zone).
const wireVersion = 1

type wireState struct {
	V int          `json:"v"`
	B []wireBucket `json:"b,omitempty"` // buckets with samples
	D *wireMean    `json:"d,omitempty"` // decode time per token
	C *wireMean    `json:"c,omitempty"` // completion tokens
	T *wireMean    `json:"t,omitempty"` // spread of the times to first token
	S int64        `json:"s,omitempty"` // successes
	F int64        `json:"f,omitempty"` // failures
	L int64        `json:"l,omitempty"` // last sample
	K *wireBreaker `json:"k,omitempty"` // breaker, when not zero
}

type wireMean struct {
	S float64 `json:"s"` // sum
	W float64 `json:"w"` // weight
	N int     `json:"n"` // samples
	L int64   `json:"l"` // last observation
}

type wireBucket struct {
	I int `json:"i"`
	wireMean
	P float64 `json:"p,omitempty"` // pending decode tokens
}

type wireBreaker struct {
	O bool  `json:"o,omitempty"` // open
	A int64 `json:"a,omitempty"` // opened at
	U int64 `json:"u,omitempty"` // open until
	C int   `json:"c,omitempty"` // consecutive failures
	F int64 `json:"f,omitempty"` // last failure
	N int   `json:"n,omitempty"` // openings
	S int64 `json:"s,omitempty"` // last success start
	W uint8 `json:"w,omitempty"` // why it is open (selector.FailureKind)
}

// breakerMessage is what is published on the breakers channel, and the
// value of a breaker key (without R and I, which the key and the channel
// message carry).
type breakerMessage struct {
	I string      `json:"i,omitempty"` // instance that published it
	R string      `json:"r,omitempty"` // route key
	K wireBreaker `json:"k"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func toWireMean(m selector.MeanState) wireMean {
	return wireMean{S: m.Sum, W: m.Weight, N: m.Samples, L: nanos(m.Last)}
}

func (w wireMean) state() selector.MeanState {
	return selector.MeanState{Sum: w.S, Weight: w.W, Samples: w.N, Last: fromNanos(w.L)}
}

func toWireBreaker(b selector.BreakerRecord) wireBreaker {
	return wireBreaker{
		O: b.Open, A: nanos(b.OpenedAt), U: nanos(b.OpenUntil), C: b.ConsecutiveFailures,
		F: nanos(b.LastFailure), N: b.Openings, S: nanos(b.LastSuccessStart), W: uint8(b.Cause),
	}
}

func (w wireBreaker) record() selector.BreakerRecord {
	return selector.BreakerRecord{
		Open: w.O, OpenedAt: fromNanos(w.A), OpenUntil: fromNanos(w.U), ConsecutiveFailures: w.C,
		LastFailure: fromNanos(w.F), Openings: w.N, LastSuccessStart: fromNanos(w.S),
		Cause: selector.FailureKind(w.W),
	}
}

// encodeState returns st in the wire format.
func encodeState(st *selector.State) ([]byte, error) {
	w := wireState{V: wireVersion, S: st.Successes, F: st.Failures, L: nanos(st.LastSample)}
	for i := range st.Buckets {
		if b := &st.Buckets[i]; b.Samples > 0 {
			w.B = append(w.B, wireBucket{I: i, wireMean: toWireMean(b.MeanState), P: b.Pending})
		}
	}
	if st.Decode.Samples > 0 {
		m := toWireMean(st.Decode)
		w.D = &m
	}
	if st.Completion.Samples > 0 {
		m := toWireMean(st.Completion)
		w.C = &m
	}
	if st.TTFTSpread.Samples > 0 {
		m := toWireMean(st.TTFTSpread)
		w.T = &m
	}
	if st.Breaker != (selector.BreakerRecord{}) {
		k := toWireBreaker(st.Breaker)
		w.K = &k
	}
	return json.Marshal(&w)
}

// decodeState reads a State in the wire format.
func decodeState(data []byte) (selector.State, error) {
	var w wireState
	if err := json.Unmarshal(data, &w); err != nil {
		return selector.State{}, err
	}
	if w.V != wireVersion {
		return selector.State{}, fmt.Errorf("state version %d, want %d", w.V, wireVersion)
	}
	st := selector.State{Successes: w.S, Failures: w.F, LastSample: fromNanos(w.L)}
	for _, b := range w.B {
		if b.I < 0 || b.I >= selector.NumBuckets {
			return selector.State{}, fmt.Errorf("bucket %d out of range", b.I)
		}
		st.Buckets[b.I] = selector.BucketState{MeanState: b.state(), Pending: b.P}
	}
	if w.D != nil {
		st.Decode = w.D.state()
	}
	if w.C != nil {
		st.Completion = w.C.state()
	}
	if w.T != nil {
		st.TTFTSpread = w.T.state()
	}
	if w.K != nil {
		st.Breaker = w.K.record()
	}
	return st, nil
}

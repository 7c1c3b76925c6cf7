package llmrouter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Reset delays read like OpenAI's (and Go's) durations.
func TestFormatReset(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                    "0ms",
		20 * time.Millisecond:                "20ms",
		999 * time.Millisecond:               "999ms",
		time.Second:                          "1s",
		1500 * time.Millisecond:              "1.5s",
		6 * time.Minute:                      "6m0s",
		time.Minute + 52754*time.Millisecond: "1m52.754s",
		2*time.Hour + 3*time.Second + 40*time.Millisecond: "2h0m3.04s",
	} {
		assert.Equal(t, want, formatReset(d), d.String())
		if d >= time.Second {
			assert.Equal(t, d.String(), formatReset(d), "as Go writes it")
		}
	}
}

package meter

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzStream checks, for any input and any way of splitting it into reads,
// that a Stream does not panic, that the split does not change what it
// outputs or sees, and that with ClientWantsUsage (nothing is dropped) the
// output is the input, plus End's terminator, unless a usage chunk was
// synthesized. It also runs InspectJSON on the input.
func FuzzStream(f *testing.F) {
	for _, input := range allFixtures {
		f.Add([]byte(input), uint8(7))
	}
	f.Add([]byte(deepSeekStream+"data: {\"choices\":[{\"delta\":{\"content\":\"x"), uint8(1))
	f.Add([]byte("event: error\ndata: oops\r\n\r\n: c\n\n\n"), uint8(3))
	f.Add([]byte("data: {\"a\":\"\\\"}\"}\ndata: [DONE]\r"), uint8(2))
	f.Add([]byte(chatCompletion), uint8(64))

	f.Fuzz(func(t *testing.T, input []byte, split uint8) {
		whole, outWhole := feed(t, wantUsage, string(input), 0)
		parts, outParts := feed(t, wantUsage, string(input), int(split)+1)
		if outWhole != outParts {
			t.Fatalf("output depends on the split:\nwhole %q\nsplit %q", outWhole, outParts)
		}
		if whole.Committed() != parts.Committed() || whole.Done() != parts.Done() ||
			whole.FinishReason() != parts.FinishReason() || whole.Usage() != parts.Usage() ||
			whole.ContentEvents() != parts.ContentEvents() || (whole.Err() == nil) != (parts.Err() == nil) {
			t.Fatalf("state depends on the split")
		}

		if whole.synthesized == 0 {
			extra, ok := strings.CutPrefix(outWhole, string(input))
			if !ok || len(extra) > 4 || strings.Trim(extra, "\r\n") != "" {
				t.Fatalf("output is not the input:\nin  %q\nout %q", input, outWhole)
			}
			if extra != "" && bytes.HasSuffix(input, []byte("\n\n")) {
				t.Fatalf("a terminated stream got a terminator: %q", extra)
			}
		} else if len(outWhole) <= len(input) {
			t.Fatalf("a usage chunk was synthesized but the output is not longer")
		}

		if !whole.Committed() && whole.ContentEvents() != 0 {
			t.Fatalf("content events without a commit")
		}
		_ = InspectJSON(input, 1)
	})
}

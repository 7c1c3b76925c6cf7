package meter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
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
		if !sameState(whole, parts) {
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
		// Starting a chunk after the members the previous one repeated
		// (chunkMembers) changes nothing.
		full, outFull := feedStream(&Stream{opts: wantUsage, readWhole: true}, string(input), int(split)+1)
		if outFull != outParts || !sameState(full, parts) {
			t.Fatalf("reading every chunk whole gives another result:\nwhole %q\nskipping %q", outFull, outParts)
		}
		_ = InspectJSON(input, 1)
	})
}

// sameState reports whether two streams saw the same thing.
func sameState(a, b *Stream) bool {
	return a.Committed() == b.Committed() && a.Done() == b.Done() && a.FinishReason() == b.FinishReason() &&
		a.Usage() == b.Usage() && a.ContentEvents() == b.ContentEvents() && (a.Err() == nil) == (b.Err() == nil) &&
		(a.Err() == nil || *a.Err() == *b.Err()) &&
		a.contentBytes == b.contentBytes && string(a.id) == string(b.id) && string(a.mdl) == string(b.mdl)
}

// FuzzAssembler checks, for any input and any split, that an Assembler does
// not panic, that the split changes nothing, and that what it answers is one
// valid JSON object, a chat.completion with an array of choices.
func FuzzAssembler(f *testing.F) {
	for _, input := range allFixtures {
		f.Add([]byte(input), uint8(5))
	}
	f.Add([]byte(sse(`{"choices":[{"delta":{"content":"\ud83d","tool_calls":[{"function":{"arguments":"{"}}]}}]}`,
		`{"choices":[{"index":1,"delta":{"content":[{"type":"text","text":"x"}]},"logprobs":{"content":[1]}}]}`, `[DONE]`)), uint8(2))
	f.Fuzz(func(t *testing.T, input []byte, split uint8) {
		whole, errWhole := assemble(t, string(input), 0)
		parts, errParts := assemble(t, string(input), int(split)+1)
		if string(whole) != string(parts) || (errWhole == nil) != (errParts == nil) {
			t.Fatalf("the answer depends on the split:\nwhole %q %v\nsplit %q %v", whole, errWhole, parts, errParts)
		}
		if errWhole != nil {
			return
		}
		if !jsonwalk.Valid(whole) {
			t.Fatalf("not valid JSON: %q", whole)
		}
		if gjson.GetBytes(whole, "object").String() != "chat.completion" || !gjson.GetBytes(whole, "choices").IsArray() {
			t.Fatalf("not a chat.completion: %s", whole)
		}
	})
}

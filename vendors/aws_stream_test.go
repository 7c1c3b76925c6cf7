package vendors

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awsUpdate rewrites the aws golden files: go test ./vendors -run AWS -aws.update
var awsUpdate = flag.Bool("aws.update", false, "rewrite vendors/testdata/aws golden files")

// awsAssertGolden compares got with testdata/aws/name (JSON files as JSON,
// others byte for byte), or rewrites the file with -aws.update.
func awsAssertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "aws", name)
	if *awsUpdate {
		if strings.HasSuffix(name, ".json") {
			var buf bytes.Buffer
			require.NoError(t, json.Indent(&buf, []byte(got), "", "  "))
			got = buf.String() + "\n"
		}
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -aws.update to create it")
	if strings.HasSuffix(name, ".json") {
		assert.JSONEq(t, string(want), got, name)
	} else {
		assert.Equal(t, string(want), got, name)
	}
}

// bedrockTestEvent is one frame of a test stream.
type bedrockTestEvent struct {
	msgType, typ, payload string
}

func bedrockEvent(typ, payload string) bedrockTestEvent {
	return bedrockTestEvent{"event", typ, payload}
}

// bedrockTestFrames encodes events with the AWS SDK's encoder, with the
// headers Bedrock sends.
func bedrockTestFrames(t testing.TB, events ...bedrockTestEvent) []byte {
	t.Helper()
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	for _, e := range events {
		var h eventstream.Headers
		switch e.msgType {
		case "event":
			h.Set(":event-type", eventstream.StringValue(e.typ))
		case "exception":
			h.Set(":exception-type", eventstream.StringValue(e.typ))
		case "error":
			h.Set(":error-code", eventstream.StringValue(e.typ))
			h.Set(":error-message", eventstream.StringValue(e.payload))
			e.payload = ""
		}
		h.Set(":content-type", eventstream.StringValue("application/json"))
		h.Set(":message-type", eventstream.StringValue(e.msgType))
		require.NoError(t, enc.Encode(&buf, eventstream.Message{Headers: h, Payload: []byte(e.payload)}))
	}
	return buf.Bytes()
}

// Real ConverseStream event shapes, including Bedrock's "p" padding.
var (
	bedrockTextEvents = []bedrockTestEvent{
		bedrockEvent("messageStart", `{"p":"abcdefghijk","role":"assistant"}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghijklmnopq"}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" \"world\" ✓\n"},"p":"abc"}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDEFGH"}`),
		bedrockEvent("messageStop", `{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS","stopReason":"end_turn"}`),
		bedrockEvent("metadata", `{"metrics":{"latencyMs":412},"p":"abcdefghij","usage":{"cacheReadInputTokens":100,"cacheWriteInputTokens":20,"inputTokens":12,"outputTokens":5,"totalTokens":137}}`),
	}
	bedrockToolEvents = []bedrockTestEvent{
		bedrockEvent("messageStart", `{"role":"assistant"}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Let me check."}}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":0}`),
		bedrockEvent("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_AbC123"}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":""}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Pa"}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"ris\"}"}}}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":1}`),
		bedrockEvent("contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"name":"get_time","toolUseId":"tooluse_XyZ789"}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":2}`),
		bedrockEvent("messageStop", `{"stopReason":"tool_use"}`),
		bedrockEvent("metadata", `{"metrics":{"latencyMs":900},"usage":{"inputTokens":300,"outputTokens":40,"totalTokens":340}}`),
	}
	bedrockReasoningEvents = []bedrockTestEvent{
		bedrockEvent("messageStart", `{"role":"assistant"}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"The user wants"}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":" a number."}}}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqQBCkgIAhABGAIiQ"}}}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":0}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"42"}}`),
		bedrockEvent("contentBlockStop", `{"contentBlockIndex":1}`),
		bedrockEvent("messageStop", `{"stopReason":"max_tokens"}`),
		bedrockEvent("metadata", `{"usage":{"inputTokens":50,"outputTokens":64,"totalTokens":114}}`),
	}
	bedrockExceptionEvents = []bedrockTestEvent{
		bedrockEvent("messageStart", `{"role":"assistant"}`),
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Partial"}}`),
		{"exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`},
		bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" ignored"}}`),
	}
)

// bedrockDecode feeds data to a fresh decoder in the given pieces and
// returns the output with the decoder's feed and end errors.
func bedrockDecode(data []byte, split func(rest int) int) (string, error) {
	s := newBedrockStream()
	w := &chunkWriter{id: "chatcmpl-test", model: "anthropic.claude-sonnet-4-20250514-v1:0", created: 1700000000}
	var out bytes.Buffer
	for len(data) > 0 {
		n := split(len(data))
		if err := s.feed(data[:n], w); err != nil {
			out.Write(w.take())
			return out.String(), err
		}
		data = data[n:]
		out.Write(w.take())
	}
	err := s.end(w)
	out.Write(w.take())
	return out.String(), err
}

// bedrockSplits are the ways a test stream is cut into reads.
var bedrockSplits = map[string]func(rng *rand.Rand) func(rest int) int{
	"whole":      func(*rand.Rand) func(int) int { return func(rest int) int { return rest } },
	"1 byte":     func(*rand.Rand) func(int) int { return func(int) int { return 1 } },
	"random":     func(rng *rand.Rand) func(int) int { return func(rest int) int { return 1 + rng.IntN(rest) } },
	"13 bytes":   func(*rand.Rand) func(int) int { return func(rest int) int { return min(rest, 13) } },
	"2 frames+1": func(*rand.Rand) func(int) int { return func(rest int) int { return min(rest, 301) } },
}

func TestBedrockStreamGolden(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []bedrockTestEvent
	}{
		{"stream_text.sse", bedrockTextEvents},
		{"stream_tool_use.sse", bedrockToolEvents},
		{"stream_reasoning.sse", bedrockReasoningEvents},
		{"stream_exception.sse", bedrockExceptionEvents},
	} {
		data := bedrockTestFrames(t, c.events...)
		for splitName, split := range bedrockSplits {
			t.Run(c.name+"/"+splitName, func(t *testing.T) {
				got, err := bedrockDecode(data, split(rand.New(rand.NewPCG(1, uint64(len(splitName))))))
				require.NoError(t, err)
				awsAssertGolden(t, c.name, got)
			})
		}
	}
}

// TestBedrockStreamEnds: how a stream that does not end with metadata ends.
func TestBedrockStreamEnds(t *testing.T) {
	whole := func(rest int) int { return rest }
	t.Run("no metadata: [DONE] at the end, no usage", func(t *testing.T) {
		data := bedrockTestFrames(t, bedrockTextEvents[:5]...)
		got, err := bedrockDecode(data, whole)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(got, `"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"), got)
		assert.NotContains(t, got, `"usage"`)
	})
	t.Run("metadata before messageStop waits for it", func(t *testing.T) {
		ev := append([]bedrockTestEvent{}, bedrockTextEvents[:4]...)
		ev = append(ev, bedrockTextEvents[5], bedrockTextEvents[4])
		got, err := bedrockDecode(bedrockTestFrames(t, ev...), whole)
		require.NoError(t, err)
		want, err := bedrockDecode(bedrockTestFrames(t, bedrockTextEvents...), whole)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("cut between frames before messageStop: no [DONE]", func(t *testing.T) {
		got, err := bedrockDecode(bedrockTestFrames(t, bedrockTextEvents[:3]...), whole)
		require.NoError(t, err)
		assert.NotContains(t, got, "[DONE]")
		assert.Contains(t, got, `"content":"Hello"`)
	})
	t.Run("cut inside a frame: error, no [DONE]", func(t *testing.T) {
		data := bedrockTestFrames(t, bedrockTextEvents...)
		got, err := bedrockDecode(data[:len(data)-5], whole)
		require.ErrorIs(t, err, errNativeStream)
		assert.NotContains(t, got, "[DONE]")
	})
	t.Run("error frame", func(t *testing.T) {
		data := bedrockTestFrames(t, bedrockTextEvents[0], bedrockTestEvent{"error", "InternalFailure", "An internal error occurred"})
		got, err := bedrockDecode(data, whole)
		require.NoError(t, err)
		assert.Contains(t, got, `data: {"error":{"message":"An internal error occurred","type":"server_error","param":null,"code":"InternalFailure"}}`)
		assert.NotContains(t, got, "[DONE]")
	})
	t.Run("unknown event types are ignored", func(t *testing.T) {
		ev := append([]bedrockTestEvent{bedrockEvent("somethingNew", `{"x":1}`)}, bedrockTextEvents...)
		got, err := bedrockDecode(bedrockTestFrames(t, ev...), whole)
		require.NoError(t, err)
		want, _ := bedrockDecode(bedrockTestFrames(t, bedrockTextEvents...), whole)
		assert.Equal(t, want, got)
	})
}

// TestBedrockStreamMalformed: framing the decoder cannot read.
func TestBedrockStreamMalformed(t *testing.T) {
	whole := func(rest int) int { return rest }
	good := bedrockTestFrames(t, bedrockTextEvents...)

	corrupt := bytes.Clone(good)
	corrupt[40] ^= 0xff // inside the first frame's headers or payload: the message CRC fails
	_, err := bedrockDecode(corrupt, whole)
	require.ErrorIs(t, err, errNativeStream)

	prelude := bytes.Clone(good)
	prelude[9] ^= 0xff // the prelude CRC
	_, err = bedrockDecode(prelude, whole)
	require.ErrorIs(t, err, errNativeStream)

	for name, head := range map[string][]byte{
		"too short":        {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"headers too long": {0, 0, 0, 20, 0, 0, 0, 10, 0, 0, 0, 0},
		"too long":         {0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		_, err := bedrockDecode(head, whole)
		require.ErrorIs(t, err, errNativeStream, name)
	}

	// An SSE body (a misrouted OpenAI stream) is not event-stream framing.
	_, err = bedrockDecode([]byte("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"), whole)
	require.ErrorIs(t, err, errNativeStream)
}

func BenchmarkBedrockStream(b *testing.B) {
	events := []bedrockTestEvent{bedrockEvent("messageStart", `{"p":"abcdefghijk","role":"assistant"}`)}
	for range 200 {
		events = append(events, bedrockEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" token"},"p":"abcdefghijklmnopq"}`))
	}
	events = append(events, bedrockTextEvents[3:]...)
	data := bedrockTestFrames(b, events...)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	w := &chunkWriter{id: "chatcmpl-test", model: "m", created: 1700000000}
	for b.Loop() {
		s := newBedrockStream()
		for p := data; len(p) > 0; {
			n := min(len(p), 1400) // TCP-segment-sized reads
			if err := s.feed(p[:n], w); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
			w.buf = w.buf[:0]
		}
		if err := s.end(w); err != nil {
			b.Fatal(err)
		}
		w.buf = w.buf[:0]
	}
}

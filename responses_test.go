package llmrouter_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// responsesEvent is one event of a Responses stream.
type responsesEvent struct {
	name string // the "event:" line
	data gjson.Result
}

// readResponsesStream reads a Responses stream's events.
func readResponsesStream(t *testing.T, body string) []responsesEvent {
	t.Helper()
	var evs []responsesEvent
	for _, raw := range strings.Split(strings.TrimSpace(body), "\n\n") {
		var ev responsesEvent
		for _, line := range strings.Split(raw, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev.name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				require.True(t, gjson.Valid(v), v)
				require.NotEqual(t, "[DONE]", v, "the Responses API has no [DONE]")
				ev.data = gjson.Parse(v)
			}
		}
		evs = append(evs, ev)
	}
	return evs
}

// checkResponsesStream checks a stream's lifecycle: every event named, typed
// alike, numbered in sequence; created and in_progress first; the text's
// item added, its part added, deltas, the done events; and the last event
// (returned) carrying the whole output. It returns the text of the deltas.
func checkResponsesStream(t *testing.T, evs []responsesEvent) (text string, last gjson.Result) {
	t.Helper()
	require.GreaterOrEqual(t, len(evs), 3)
	var types []string
	var sb strings.Builder
	for i, ev := range evs {
		typ := ev.data.Get("type").String()
		assert.Equal(t, ev.name, typ, "event %d", i)
		assert.Equal(t, int64(i), ev.data.Get("sequence_number").Int(), "event %d (%s) is numbered in sequence", i, typ)
		types = append(types, typ)
		if typ == "response.output_text.delta" {
			sb.WriteString(ev.data.Get("delta").String())
		}
	}
	assert.Equal(t, []string{"response.created", "response.in_progress"}, types[:2])
	last = evs[len(evs)-1].data
	if sb.Len() > 0 {
		want := []string{"response.output_item.added", "response.content_part.added"}
		if last.Get("type").String() == "response.completed" {
			want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done")
			assert.NotEmpty(t, last.Get("response.output").Array(), "output is never [] when text was produced")
			assert.Equal(t, sb.String(), last.Get("response.output.0.content.0.text").String())
		}
		for _, w := range want {
			assert.Contains(t, types, w)
		}
	}
	return sb.String(), last
}

func responses(t *testing.T, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	return post(t, "/v1/responses", body, headers...)
}

// Native passthrough: only the model and the auth change; the answer's id
// is the router's (it names the vendor); GET and DELETE go to that vendor.
func TestResponsesNative(t *testing.T) {
	native := fakevendor.Start(t, fakevendor.Options{Name: "native", Reply: "Hello from native."})
	startRouter(t, routerBlock(nil, vendorBlock("native", "openai", native.URL(), "sk-native",
		"model resp-native as gpt-5-mini")))

	resp, body := responses(t, `{"model":"resp-native","input":"Say hello","routing":"price","tools":[{"type":"web_search"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "native", resp.Header.Get("X-LLM-Vendor"))
	assert.Empty(t, resp.Header.Get("X-LLM-Dropped-Tools"), "a native vendor runs built-in tools")
	sent := native.Requests()[0]
	assert.Equal(t, "/responses", sent.Path)
	assert.Equal(t, "Bearer sk-native", sent.Header.Get("Authorization"))
	assert.JSONEq(t, `{"model":"gpt-5-mini","input":"Say hello","tools":[{"type":"web_search"}]}`, string(sent.Body))
	id := gjson.Get(body, "id").String()
	assert.True(t, strings.HasPrefix(id, "resp_"), id)
	assert.Equal(t, "Hello from native.", gjson.Get(body, "output.0.content.0.text").String())
	assert.Equal(t, int64(3), gjson.Get(body, "usage.output_tokens").Int())

	// The stored response, through the router.
	get := func(method, id string) (*http.Response, string) {
		req, _ := http.NewRequest(method, routerURL+"/v1/responses/"+id, nil)
		r, err := client.Do(req)
		require.NoError(t, err)
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	r, got := get(http.MethodGet, id)
	require.Equal(t, http.StatusOK, r.StatusCode, got)
	assert.Equal(t, id, gjson.Get(got, "id").String())
	assert.Equal(t, "native", r.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "Bearer sk-native", native.Requests()[1].Header.Get("Authorization"))
	r, got = get(http.MethodDelete, id)
	require.Equal(t, http.StatusOK, r.StatusCode, got)
	assert.True(t, gjson.Get(got, "deleted").Bool())
	// A forged or foreign id never reaches a vendor.
	n := native.Count()
	for _, bad := range []string{"resp_abc", gjson.Get(body, "id").String() + "x"} {
		r, got = get(http.MethodGet, bad)
		assert.Equal(t, http.StatusNotFound, r.StatusCode, got)
		assert.Equal(t, "invalid_request_error", gjson.Get(got, "error.type").String())
	}
	assert.Equal(t, n, native.Count())

	// Streamed: the vendor's events, with the router's ids.
	resp, body = responses(t, `{"model":"resp-native","input":"Say hello","stream":true}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	text, last := checkResponsesStream(t, readResponsesStream(t, body))
	assert.Equal(t, "Hello from native.", text)
	assert.Equal(t, "response.completed", last.Get("type").String())
	streamID := last.Get("response.id").String()
	assert.True(t, strings.HasPrefix(streamID, "resp_") && len(streamID) > 40, streamID)
	assert.NotContains(t, body, `"id":"resp_`+strings.TrimPrefix(gjson.Get(body, "id").String(), "resp_")+`"`)

	// previous_response_id: the vendor gets its own id back.
	resp, body = responses(t, `{"model":"resp-native","input":"And again","previous_response_id":"`+streamID+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	last4 := native.Requests()[len(native.Requests())-1]
	assert.True(t, strings.HasPrefix(gjson.GetBytes(last4.Body, "previous_response_id").String(), "resp_"))
	assert.NotEqual(t, streamID, gjson.GetBytes(last4.Body, "previous_response_id").String())
}

// The bridge: a vendor without the Responses API answers through its chat
// completions, streamed in the whole event sequence.
func TestResponsesBridged(t *testing.T) {
	chatOnly := fakevendor.Start(t, fakevendor.Options{Name: "chatonly", Reply: "Hello from chat."})
	startRouter(t, routerBlock(nil, vendorBlock("chatonly", "openai_compatible", chatOnly.URL(), "",
		"model resp-bridged")))

	resp, body := responses(t, `{"model":"resp-bridged","instructions":"Be brief.","input":[{"role":"user","content":"Say hello"}],"max_output_tokens":50,"tools":[{"type":"web_search"},{"type":"function","name":"lookup","parameters":{"type":"object"}}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "chatonly", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "web_search", resp.Header.Get("X-LLM-Dropped-Tools"))
	assert.Equal(t, "true", resp.Header.Get("X-LLM-Store-Ignored"))
	sent := chatOnly.Requests()[0]
	assert.Equal(t, "/chat/completions", sent.Path)
	assert.JSONEq(t, `[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}]`,
		gjson.GetBytes(sent.Body, "messages").Raw)
	assert.Equal(t, int64(50), gjson.GetBytes(sent.Body, "max_completion_tokens").Int())
	assert.Equal(t, "lookup", gjson.GetBytes(sent.Body, "tools.0.function.name").String())
	assert.Equal(t, "response", gjson.Get(body, "object").String())
	assert.Equal(t, "completed", gjson.Get(body, "status").String())
	assert.Equal(t, "Hello from chat.", gjson.Get(body, "output.0.content.0.text").String())
	assert.Equal(t, int64(3), gjson.Get(body, "usage.output_tokens").Int())

	resp, body = responses(t, `{"model":"resp-bridged","input":"Say hello","stream":true,"store":false}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Get("X-LLM-Store-Ignored"))
	text, last := checkResponsesStream(t, readResponsesStream(t, body))
	assert.Equal(t, "Hello from chat.", text)
	assert.Equal(t, "response.completed", last.Get("type").String())
	assert.Equal(t, int64(3), last.Get("response.usage.output_tokens").Int())

	// What the bridge cannot do is a clear 400.
	for name, req := range map[string]string{
		"built-in tool required": `{"model":"resp-bridged","input":"x","tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"}}`,
		"forged previous id":     `{"model":"resp-bridged","input":"x","previous_response_id":"resp_123"}`,
	} {
		resp, body = responses(t, req)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name+": "+body)
		assert.Equal(t, "invalid_request_error", gjson.Get(body, "error.type").String(), name)
	}
}

// Built-in tools prefer a vendor that serves the Responses API itself, even
// against the ranking; failover before the commit point crosses from native
// to bridged; a previous_response_id pins its vendor.
func TestResponsesRouting(t *testing.T) {
	native := fakevendor.Start(t, fakevendor.Options{Name: "native"})
	cheap := fakevendor.Start(t, fakevendor.Options{Name: "cheap"})
	startRouter(t, routerBlock(nil,
		vendorBlock("native", "openai", native.URL(), "sk-n", "model resp-route as gpt-5 input 5"),
		vendorBlock("cheap", "openai_compatible", cheap.URL(), "", "model resp-route input 0.1"),
	))
	resp, body := responses(t, `{"model":"resp-route","input":"x","routing":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "cheap", resp.Header.Get("X-LLM-Vendor"))

	resp, body = responses(t, `{"model":"resp-route","input":"x","routing":"price","tools":[{"type":"file_search"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "native", resp.Header.Get("X-LLM-Vendor"), "built-in tools go native first")
	nativeID := gjson.Get(body, "id").String()

	// Pinned by its previous response, against the price ranking.
	resp, body = responses(t, `{"model":"resp-route","input":"y","routing":"price","previous_response_id":"`+nativeID+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "native", resp.Header.Get("X-LLM-Vendor"))
	resp, body = responses(t, `{"model":"resp-route","input":"y","previous_response_id":"`+nativeID+`"}`, "vendor", "cheap")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)

	// A bridged response cannot be continued.
	resp, body = responses(t, `{"model":"resp-route","input":"x","routing":"price"}`)
	require.Equal(t, "cheap", resp.Header.Get("X-LLM-Vendor"))
	resp, body = responses(t, `{"model":"resp-route","input":"y","previous_response_id":"`+gjson.Get(body, "id").String()+`"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Contains(t, gjson.Get(body, "error.message").String(), "keeps no conversation state")

	// The native vendor fails before its first token: the bridged one answers.
	native.SetOptions(fakevendor.Options{Name: "native", Fault: fakevendor.FaultErrorEventBeforeToken})
	resp, body = responses(t, `{"model":"resp-route","input":"x","stream":true,"tools":[{"type":"web_search"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "cheap", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	text, last := checkResponsesStream(t, readResponsesStream(t, body))
	assert.Equal(t, "Hello from cheap.", text)
	assert.Equal(t, "response.completed", last.Get("type").String())
}

// A stream that breaks after its commit point ends with response.failed,
// never a silent close, native or bridged.
func TestResponsesInterrupted(t *testing.T) {
	for _, kind := range []string{"openai", "openai_compatible"} {
		t.Run(kind, func(t *testing.T) {
			v := fakevendor.Start(t, fakevendor.Options{Name: "cut", Reply: "one two three four",
				Fault: fakevendor.FaultCutAfter, CutAfter: 2})
			model := "resp-cut-" + kind
			startRouter(t, routerBlock(nil, vendorBlock("cut", kind, v.URL(), "k", "model "+model)))
			resp, body := responses(t, `{"model":"`+model+`","input":"count","stream":true}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			evs := readResponsesStream(t, body)
			text, last := checkResponsesStream(t, evs)
			assert.Equal(t, "one two", text)
			assert.Equal(t, "response.failed", last.Get("type").String(), body)
			assert.Equal(t, "failed", last.Get("response.status").String())
			assert.Equal(t, "server_error", last.Get("response.error.code").String())
			assert.True(t, strings.HasPrefix(last.Get("response.id").String(), "resp_"))
		})
	}
}

// Responses are metered and billed as chat completions are: the vendor's
// usage, native or bridged, streamed or not; a zero-completion answer is
// never billed (it fails over, and its cost is absorbed).
func TestResponsesUsageAndInsurance(t *testing.T) {
	const prompt, cached, completion = 17, 5, 42
	for _, kind := range []string{"openai", "openai_compatible"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", kind, stream), func(t *testing.T) {
				fake := fakevendor.Start(t, fakevendor.Options{Name: "u", PromptTokens: prompt, CachedTokens: cached,
					CompletionTokens: completion, Reply: "counting the tokens"})
				empty := fakevendor.Start(t, fakevendor.Options{Name: "empty", Fault: fakevendor.FaultZeroTokens,
					PromptTokens: 3})
				model := fmt.Sprintf("resp-usage-%s-%v", kind, stream) // its own routes: no learned state from the others
				startRouter(t, routerBlock(nil,
					vendorBlock("empty", kind, empty.URL(), "k", "model "+model+" input 0.1"),
					vendorBlock("u", kind, fake.URL(), "k", "model "+model+" input 2 output 8 cached_input 1"),
				))
				token := fmt.Sprintf("client-resp-%s-%v-%d", kind, stream, time.Now().UnixNano())
				resp, body := responses(t, fmt.Sprintf(`{"model":%q,"input":"count","routing":"price","stream":%v}`, model, stream),
					"Authorization", "Bearer "+token)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				assert.Equal(t, "u", resp.Header.Get("X-LLM-Vendor"))
				assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"), "the empty answer failed over")

				c := clientStats(t, clientKey(token))
				assert.Equal(t, int64(1), c.Get("billable_requests").Int())
				assert.Equal(t, int64(prompt), c.Get("billable_prompt_tokens").Int())
				assert.Equal(t, int64(completion), c.Get("billable_completion_tokens").Int())
				wantCost := (float64(prompt-cached)*2 + float64(cached)*1 + float64(completion)*8) / 1e6
				assert.InDelta(t, wantCost, c.Get("billable_cost_usd").Float(), 1e-12)
			})
		}
	}
}

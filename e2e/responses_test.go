package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// The Responses API through the router, with the official SDK: "native" is
// an openai vendor, which serves the API itself; "bridged" an
// OpenAI-compatible vendor that speaks only chat completions; "claude" an
// Anthropic vendor, reached through the bridge and the Messages translation.

// responsesRouter starts the three vendors, all serving "resp-model".
func responsesRouter(t *testing.T, native fakevendor.Options) (nat, bridged *fakevendor.Vendor, claude *fakevendor.AnthropicVendor) {
	t.Helper()
	nat = fakevendor.Start(t, native)
	bridged = fakevendor.Start(t, fakevendor.Options{Name: "bridged", Reply: `{"city":"Paris"}`})
	claude = fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Let me check.",
		ToolCall:    &fakevendor.AnthropicToolCall{ID: "toolu_1", Name: "get_weather", Input: `{"city":"Paris"}`},
		InputTokens: 30, OutputTokens: 9})
	startRouter(t, router(nil,
		"vendor native openai {\n\t\tbase_url "+nat.URL()+"\n\t\tapi_key sk-native\n\t\tmodel resp-model as gpt-5-mini input 2\n\t}\n",
		"vendor bridged openai_compatible {\n\t\tbase_url "+bridged.URL()+"\n\t\tapi_key sk-bridged\n\t\tmodel resp-model input 1\n\t}\n",
		"vendor claude anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant\n\t\tmodel resp-tools as claude-sonnet-4-5\n\t}\n",
	))
	return nat, bridged, claude
}

var weatherFunction = responses.ToolParamOfFunction("get_weather", map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required":   []string{"city"},
}, true)

func TestSDKResponses(t *testing.T) {
	responsesRouter(t, fakevendor.Options{Name: "native"})
	client := sdkClient()
	for _, v := range []string{"native", "bridged"} {
		t.Run(v, func(t *testing.T) {
			var hdr http.Header
			resp, err := client.Responses.New(sdkContext(t), responses.ResponseNewParams{
				Model:        "resp-model",
				Instructions: openai.String("Be brief."),
				Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Where?")},
			}, option.WithHeader("vendor", v), option.WithResponseInto(new(*http.Response)), option.WithMiddleware(
				func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
					res, err := next(r)
					if res != nil {
						hdr = res.Header
					}
					return res, err
				}))
			require.NoError(t, err)
			assert.Equal(t, v, hdr.Get("X-LLM-Vendor"))
			assert.Equal(t, responses.ResponseStatusCompleted, resp.Status)
			assert.NotEmpty(t, resp.OutputText())
			assert.Positive(t, resp.Usage.OutputTokens)
			assert.True(t, strings.HasPrefix(resp.ID, "resp_"))

			// Streamed: the deltas, and the completed response with the
			// whole output.
			stream := client.Responses.NewStreaming(sdkContext(t), responses.ResponseNewParams{
				Model: "resp-model",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Where?")},
			}, option.WithHeader("vendor", v))
			var text strings.Builder
			var final responses.Response
			var seen []string
			for stream.Next() {
				ev := stream.Current()
				seen = append(seen, ev.Type)
				switch ev.Type {
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					final = ev.AsResponseCompleted().Response
				}
			}
			require.NoError(t, stream.Err())
			require.NoError(t, stream.Close())
			assert.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added",
				"response.content_part.added"}, seen[:4])
			assert.Equal(t, "response.completed", seen[len(seen)-1])
			assert.NotEmpty(t, text.String())
			assert.Equal(t, text.String(), final.OutputText(), "the final event carries the whole output")
			assert.Positive(t, final.Usage.OutputTokens)
		})
	}
}

// Function tools and structured output, bridged: the tool call comes back
// from Anthropic's Messages API as a function_call item; a JSON schema
// becomes the chat request's response_format.
func TestSDKResponsesToolsAndStructuredOutput(t *testing.T) {
	nat, bridged, claude := responsesRouter(t, fakevendor.Options{Name: "native"})
	client := sdkClient()
	ctx := sdkContext(t)

	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "resp-tools",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{weatherFunction},
	})
	require.NoError(t, err)
	var call responses.ResponseFunctionToolCall
	for _, item := range resp.Output {
		if item.Type == "function_call" {
			call = item.AsFunctionCall()
		}
	}
	assert.Equal(t, "get_weather", call.Name)
	assert.Equal(t, "toolu_1", call.CallID)
	assert.JSONEq(t, `{"city":"Paris"}`, call.Arguments)
	sent := claude.Requests()[0]
	assert.Contains(t, string(sent.Body), `"name":"get_weather"`)

	// The tool's result goes back as a function_call_output item.
	out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"sky":"sunny"}`)
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	_, err = client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "resp-tools",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name),
			out,
		}},
		Tools: []responses.ToolUnionParam{weatherFunction},
	})
	require.NoError(t, err)
	history := claude.Requests()[len(claude.Requests())-1].Body
	assert.Contains(t, string(history), `"tool_use_id":"toolu_1"`)

	// Structured output on the bridged vendor.
	schema := map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required": []string{"city"}, "additionalProperties": false}
	resp, err = client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "resp-model",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Which city?")},
		Text:  responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigParamOfJSONSchema("city", schema)},
	}, option.WithHeader("vendor", "bridged"))
	require.NoError(t, err)
	var got struct{ City string }
	require.NoError(t, json.Unmarshal([]byte(resp.OutputText()), &got), resp.OutputText())
	last := bridged.Requests()[len(bridged.Requests())-1].Body
	assert.Contains(t, string(last), `"response_format":{"type":"json_schema","json_schema":{"name":"city","schema":`)

	// Natively, the function call streams from the vendor's own API.
	stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model:      "resp-model",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather?")},
		Tools:      []responses.ToolUnionParam{weatherFunction},
		ToolChoice: responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsRequired)},
	}, option.WithHeader("vendor", "native"))
	var args string
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "response.function_call_arguments.done" {
			args = ev.Arguments
		}
	}
	require.NoError(t, stream.Err())
	assert.JSONEq(t, `{"city":"Paris"}`, args)
	assert.NotEmpty(t, nat.Requests())
}

// A native vendor that fails before its first token: the SDK's request is
// answered by the bridged one, unaware.
func TestSDKResponsesFailover(t *testing.T) {
	responsesRouter(t, fakevendor.Options{Name: "native", Status: http.StatusServiceUnavailable})
	client := sdkClient()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			params := responses.ResponseNewParams{Model: "resp-model",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")},
				Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}}}
			if !stream {
				resp, err := client.Responses.New(sdkContext(t), params)
				require.NoError(t, err)
				assert.Equal(t, `{"city":"Paris"}`, resp.OutputText())
				return
			}
			s := client.Responses.NewStreaming(sdkContext(t), params)
			var final responses.Response
			for s.Next() {
				if ev := s.Current(); ev.Type == "response.completed" {
					final = ev.AsResponseCompleted().Response
				}
			}
			require.NoError(t, s.Err())
			assert.Equal(t, `{"city":"Paris"}`, final.OutputText())
		})
	}
}

// Conformance: the Response objects and every stream event, native and
// bridged, completed and failed, validate against the spec.
func TestConformanceResponses(t *testing.T) {
	responsesRouter(t, fakevendor.Options{Name: "native"})
	for _, v := range []string{"native", "bridged"} {
		resp, body := do(t, "POST", "/v1/responses", `{"model":"resp-model","input":"hi","tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]}`, "vendor", v)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assertConforms(t, "Response", body, v+" response")

		for i, ev := range responsesStream(t, `{"model":"resp-model","input":"hi","stream":true}`, "vendor", v) {
			assertConforms(t, "ResponseStreamEvent", []byte(ev), fmt.Sprintf("%s stream event %d", v, i))
		}
	}
	resp, body := do(t, "POST", "/v1/responses", `{"model":"resp-model","input":"x","previous_response_id":"resp_forged"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assertConforms(t, "ErrorResponse", body, "the error")
}

// Streams that break after their commit point end with a conforming
// response.failed.
func TestConformanceResponsesFailed(t *testing.T) {
	nat := fakevendor.Start(t, fakevendor.Options{Name: "n", Reply: "one two three", Fault: fakevendor.FaultCutAfter, CutAfter: 1})
	br := fakevendor.Start(t, fakevendor.Options{Name: "b", Reply: "one two three", Fault: fakevendor.FaultCutAfter, CutAfter: 1})
	startRouter(t, router(nil,
		"vendor n openai {\n\t\tbase_url "+nat.URL()+"\n\t\tapi_key k\n\t\tmodel resp-cut\n\t}\n",
		"vendor b openai_compatible {\n\t\tbase_url "+br.URL()+"\n\t\tapi_key k\n\t\tmodel resp-cut\n\t}\n",
	))
	for _, v := range []string{"n", "b"} {
		evs := responsesStream(t, `{"model":"resp-cut","input":"hi","stream":true}`, "vendor", v)
		require.NotEmpty(t, evs)
		assert.Contains(t, evs[len(evs)-1], `"type":"response.failed"`)
		for i, ev := range evs {
			assertConforms(t, "ResponseStreamEvent", []byte(ev), fmt.Sprintf("%s stream event %d", v, i))
		}
	}
}

// responsesStream posts a streamed Responses request and returns its
// events' data.
func responsesStream(t *testing.T, body string, headers ...string) []string {
	t.Helper()
	req, err := http.NewRequest("POST", routerURL+"/v1/responses", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var events []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
		}
	}
	require.NoError(t, sc.Err())
	return events
}

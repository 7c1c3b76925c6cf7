package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientKey is the key the SDK sends to the router; no vendor may ever see it.
const clientKey = "client-key"

// sdkClient is the official OpenAI Go SDK pointed at the router. Retries are
// off so that a failure shows as it happened.
func sdkClient(opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(routerURL + "/v1/"),
		option.WithAPIKey(clientKey),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(20 * time.Second),
	}, opts...)...)
}

func sdkContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sdkRouter starts two fake vendors that both serve "e2e-model" (alpha also
// serves "alpha-only") behind the router.
func sdkRouter(t *testing.T) (alpha, beta *fakeVendor) {
	t.Helper()
	alpha = startFake(t, "alpha")
	beta = startFake(t, "beta")
	startRouter(t, router(nil,
		vendor("alpha", alpha, "e2e-model", "alpha-only"),
		vendor("beta", beta, "e2e-model"),
	))
	return alpha, beta
}

// assertNeverSawClientKey checks that no vendor received the client's key,
// in any header or in the body, and that each got its own key.
func assertNeverSawClientKey(t *testing.T, fakes map[string]*fakeVendor) {
	t.Helper()
	for id, f := range fakes {
		for _, r := range f.Requests() {
			for name, values := range r.Header {
				for _, v := range values {
					assert.NotContains(t, v, clientKey, "vendor %s got the client key in header %s", id, name)
				}
			}
			assert.NotContains(t, string(r.Body), clientKey, "vendor %s got the client key in the body", id)
			assert.Equal(t, "Bearer "+vendorKey(id), r.Header.Get("Authorization"), "vendor %s", id)
		}
	}
}

func userMessage(text string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
}

// The SDK's non-streaming and streaming chat completions work through the
// router, which answers from one of the two vendors and says which.
func TestSDKChatCompletion(t *testing.T) {
	alpha, beta := sdkRouter(t)
	fakes := map[string]*fakeVendor{"alpha": alpha, "beta": beta}
	client := sdkClient()

	t.Run("non-streaming", func(t *testing.T) {
		var httpResp *http.Response
		completion, err := client.Chat.Completions.New(sdkContext(t), openai.ChatCompletionNewParams{
			Model:    "e2e-model",
			Messages: userMessage("Say hello"),
		}, option.WithResponseInto(&httpResp))
		require.NoError(t, err)
		require.NotNil(t, httpResp)

		served := httpResp.Header.Get("X-LLM-Vendor")
		require.Contains(t, fakes, served, "X-LLM-Vendor names a configured vendor")
		assert.Equal(t, "e2e-model", httpResp.Header.Get("X-LLM-Model"))
		assert.Equal(t, "perf", httpResp.Header.Get("X-LLM-Routing"))
		assert.Equal(t, "1", httpResp.Header.Get("X-LLM-Attempts"))

		require.Len(t, completion.Choices, 1)
		assert.Equal(t, "Hello from "+served+".", completion.Choices[0].Message.Content)
		assert.Equal(t, "assistant", string(completion.Choices[0].Message.Role))
		assert.Equal(t, "stop", completion.Choices[0].FinishReason)
		assert.Equal(t, "e2e-model", completion.Model)
		assert.Equal(t, int64(fakePromptTokens), completion.Usage.PromptTokens)
		assert.Equal(t, int64(3), completion.Usage.CompletionTokens)
		assert.Equal(t, int64(fakePromptTokens+3), completion.Usage.TotalTokens)

		// exactly the vendor named in the header answered
		assert.Len(t, fakes[served].Requests(), 1)
		total := len(alpha.Requests()) + len(beta.Requests())
		assert.Equal(t, 1, total)
		assertNeverSawClientKey(t, fakes)
	})

	t.Run("streaming", func(t *testing.T) {
		alpha.Reset()
		beta.Reset()
		var httpResp *http.Response
		stream := client.Chat.Completions.NewStreaming(sdkContext(t), openai.ChatCompletionNewParams{
			Model:         "e2e-model",
			Messages:      userMessage("Say hello, slowly"),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		}, option.WithResponseInto(&httpResp))
		defer stream.Close()

		acc := openai.ChatCompletionAccumulator{}
		chunks := 0
		for stream.Next() {
			chunk := stream.Current()
			require.True(t, acc.AddChunk(chunk), "the accumulator rejected chunk %d: %s", chunks, chunk.RawJSON())
			chunks++
		}
		require.NoError(t, stream.Err())
		require.NotNil(t, httpResp)
		assert.Equal(t, "text/event-stream", strings.SplitN(httpResp.Header.Get("Content-Type"), ";", 2)[0])

		served := httpResp.Header.Get("X-LLM-Vendor")
		require.Contains(t, fakes, served)
		assert.Equal(t, "e2e-model", httpResp.Header.Get("X-LLM-Model"))
		assert.Equal(t, "1", httpResp.Header.Get("X-LLM-Attempts"))

		// role chunk, 3 words, finish chunk, usage chunk
		assert.Equal(t, 6, chunks)
		require.Len(t, acc.Choices, 1)
		assert.Equal(t, "Hello from "+served+".", acc.Choices[0].Message.Content)
		assert.Equal(t, "stop", acc.Choices[0].FinishReason)
		assert.Equal(t, int64(fakePromptTokens), acc.Usage.PromptTokens)
		assert.Equal(t, int64(3), acc.Usage.CompletionTokens)
		assert.Equal(t, int64(fakePromptTokens+3), acc.Usage.TotalTokens)

		reqs := fakes[served].Requests()
		require.Len(t, reqs, 1)
		var sent struct {
			Stream        bool `json:"stream"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		require.NoError(t, json.Unmarshal(reqs[0].Body, &sent))
		assert.True(t, sent.Stream)
		assert.True(t, sent.StreamOptions.IncludeUsage, "stream_options reach the vendor")
		assertNeverSawClientKey(t, fakes)
	})
}

// The router's own `routing` body field can be sent through the SDK; the
// router honours it and never forwards it.
func TestSDKRoutingField(t *testing.T) {
	alpha, beta := sdkRouter(t)
	client := sdkClient()
	var httpResp *http.Response
	completion, err := client.Chat.Completions.New(sdkContext(t), openai.ChatCompletionNewParams{
		Model:    "e2e-model",
		Messages: userMessage("Say hello cheaply"),
	}, option.WithJSONSet("routing", "price"), option.WithResponseInto(&httpResp))
	require.NoError(t, err)
	assert.Equal(t, "price", httpResp.Header.Get("X-LLM-Routing"))
	served := httpResp.Header.Get("X-LLM-Vendor")
	require.Len(t, completion.Choices, 1)
	assert.Equal(t, "Hello from "+served+".", completion.Choices[0].Message.Content)
	for _, f := range []*fakeVendor{alpha, beta} {
		for _, r := range f.Requests() {
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &body))
			assert.NotContains(t, body, "routing", "the routing field is the router's")
			assert.Equal(t, "e2e-model", body["model"])
		}
	}
}

// The SDK parses the router's model list; the router's extension field
// (vendors) is there for those who look.
func TestSDKListModels(t *testing.T) {
	sdkRouter(t)
	client := sdkClient()

	page, err := client.Models.List(sdkContext(t))
	require.NoError(t, err)
	byID := map[string]openai.Model{}
	for _, m := range page.Data {
		byID[m.ID] = m
	}
	require.Len(t, byID, 2, "models: %v", byID)

	shared, ok := byID["e2e-model"]
	require.True(t, ok)
	assert.Equal(t, "model", string(shared.Object))
	assert.Equal(t, "llm_router", shared.OwnedBy, "a model served by several vendors is the router's")
	var vendors []struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(shared.JSON.ExtraFields["vendors"].Raw()), &vendors))
	var ids []string
	for _, v := range vendors {
		ids = append(ids, v.ID)
	}
	assert.ElementsMatch(t, []string{"alpha", "beta"}, ids)

	only, ok := byID["alpha-only"]
	require.True(t, ok)
	assert.Equal(t, "alpha", only.OwnedBy)
}

// A vendor pinned with the `vendor` header serves every request, and the
// header itself never reaches a vendor.
func TestSDKPinnedVendor(t *testing.T) {
	alpha, beta := sdkRouter(t)
	fakes := map[string]*fakeVendor{"alpha": alpha, "beta": beta}
	for _, pin := range []string{"beta", "alpha"} {
		t.Run(pin, func(t *testing.T) {
			alpha.Reset()
			beta.Reset()
			client := sdkClient(option.WithHeader("vendor", pin))
			const n = 3
			for i := range n {
				var httpResp *http.Response
				completion, err := client.Chat.Completions.New(sdkContext(t), openai.ChatCompletionNewParams{
					Model:    "e2e-model",
					Messages: userMessage("request " + strconv.Itoa(i)),
				}, option.WithResponseInto(&httpResp))
				require.NoError(t, err)
				assert.Equal(t, pin, httpResp.Header.Get("X-LLM-Vendor"))
				require.Len(t, completion.Choices, 1)
				assert.Equal(t, "Hello from "+pin+".", completion.Choices[0].Message.Content)
			}
			assert.Len(t, fakes[pin].Requests(), n)
			for id, f := range fakes {
				if id != pin {
					assert.Empty(t, f.Requests(), "vendor %s was not pinned", id)
				}
				for _, r := range f.Requests() {
					assert.Empty(t, r.Header.Values("Vendor"), "the pin header is the router's")
				}
			}
			assertNeverSawClientKey(t, fakes)
		})
	}
}

// The router's errors reach SDK users as *openai.Error with the OpenAI fields.
func TestSDKErrors(t *testing.T) {
	alpha, beta := sdkRouter(t)
	client := sdkClient()

	t.Run("unknown model", func(t *testing.T) {
		_, err := client.Chat.Completions.New(sdkContext(t), openai.ChatCompletionNewParams{
			Model:    "no-such-model",
			Messages: userMessage("hi"),
		})
		var apiErr *openai.Error
		require.True(t, errors.As(err, &apiErr), "want *openai.Error, got %T: %v", err, err)
		assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
		assert.Equal(t, "model_not_found", apiErr.Code)
		assert.Equal(t, "invalid_request_error", apiErr.Type)
		assert.Equal(t, "model", apiErr.Param)
		assert.Contains(t, apiErr.Message, "no-such-model")
	})

	t.Run("unknown pinned vendor", func(t *testing.T) {
		_, err := client.Chat.Completions.New(sdkContext(t), openai.ChatCompletionNewParams{
			Model:    "e2e-model",
			Messages: userMessage("hi"),
		}, option.WithHeader("vendor", "gamma"))
		var apiErr *openai.Error
		require.True(t, errors.As(err, &apiErr), "want *openai.Error, got %T: %v", err, err)
		assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		assert.Equal(t, "invalid_vendor", apiErr.Code)
	})

	t.Run("streaming unknown model", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(sdkContext(t), openai.ChatCompletionNewParams{
			Model:    "no-such-model",
			Messages: userMessage("hi"),
		})
		defer stream.Close()
		assert.False(t, stream.Next())
		var apiErr *openai.Error
		require.True(t, errors.As(stream.Err(), &apiErr), "want *openai.Error, got %T: %v", stream.Err(), stream.Err())
		assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
		assert.Equal(t, "model_not_found", apiErr.Code)
	})

	assert.Empty(t, alpha.Requests(), "refused requests reach no vendor")
	assert.Empty(t, beta.Requests(), "refused requests reach no vendor")
}

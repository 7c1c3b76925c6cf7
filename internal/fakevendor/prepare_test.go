package fakevendor

import (
	"io"
	"net/http"

	"github.com/caddy-llm/llmrouter/vendors"
)

// The steps of an attempt, as the router's transport runs them through the
// attempt's translator.

// prepare shapes out for attempt a at v.
func prepare(v *vendors.Vendor, out *http.Request, a vendors.Attempt) error {
	tr, err := v.Translator(a)
	if err != nil {
		return err
	}
	defer tr.Release()
	return tr.Request(out)
}

// translate reads resp, v's successful answer to a, whole, as the client
// gets it (having asked for the usage chunk of a stream).
func translate(v *vendors.Vendor, resp *http.Response, a vendors.Attempt) ([]byte, error) {
	a.ClientWantsUsage = true
	tr, err := v.Translator(a)
	if err != nil {
		return nil, err
	}
	defer tr.Release()
	tr.ResponseHeaders(resp)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if !a.Stream {
		out, _, err := tr.Answer(body)
		return out, err
	}
	err = tr.Feed(body, true)
	out := append([]byte(nil), tr.Output()...)
	tr.End()
	return append(out, tr.Output()...), err
}

// errorBody renders v's error answer to a chat attempt as the client gets it.
func errorBody(v *vendors.Vendor, status int, body []byte) []byte {
	tr, err := v.Translator(vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: "m"})
	if err != nil {
		panic(err)
	}
	defer tr.Release()
	return tr.ErrorBody(http.Header{}, status, body)
}

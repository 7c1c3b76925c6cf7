package vendors

import (
	"errors"
	"io"
	"net/http"
)

// Shorthands for the tests of one step of a translation. The router's
// transport uses a Translator for a whole attempt; these run one step of it
// the way the transport does.

// Prepare shapes out for attempt a, as the transport's Request step does.
func (v *Vendor) Prepare(out *http.Request, a Attempt) error {
	if out == nil {
		return errors.New("Prepare needs a request")
	}
	tr, err := v.Translator(a)
	if err != nil {
		return err
	}
	defer tr.Release()
	return tr.Request(out)
}

// Native reports whether the vendor speaks an API of its own, so that its
// requests and answers are translated.
func (v *Vendor) Native() bool {
	_, compat := v.backend.(*compatBackend)
	return !compat
}

// TranslateResponse makes resp, a successful answer to attempt a, read as
// the client gets it through the attempt's translation. The client asked for
// the usage chunk, so that nothing is stripped from a stream.
func (v *Vendor) TranslateResponse(resp *http.Response, a Attempt) {
	a.ClientWantsUsage = true
	tr, err := v.Translator(a)
	if err != nil {
		panic(err)
	}
	tr.ResponseHeaders(resp)
	if a.Stream {
		resp.Body = &translatedStream{src: resp.Body, tr: tr}
		return
	}
	resp.Body = &translatedJSON{src: resp.Body, tr: tr}
}

// TranslateError renders an error answer to a chat attempt as the client
// gets it: a native vendor's in OpenAI's shape, an OpenAI-compatible
// vendor's as it is.
func (v *Vendor) TranslateError(status int, body []byte) []byte {
	if !v.Native() {
		return body
	}
	tr, err := v.Translator(Attempt{Endpoint: ChatCompletions, Model: "m"})
	if err != nil {
		panic(err)
	}
	defer tr.Release()
	return tr.ErrorBody(http.Header{}, status, body)
}

// translatedStream reads a stream through a translator.
type translatedStream struct {
	src  io.ReadCloser
	tr   ResponseStream
	buf  []byte
	out  []byte
	err  error // sticky: the vendor's read error, or a decoding error
	over bool  // the vendor's stream is read and End has run
}

func (t *translatedStream) Read(p []byte) (int, error) {
	for len(t.out) == 0 {
		if t.over {
			if t.err != nil {
				return 0, t.err
			}
			return 0, io.EOF
		}
		if t.buf == nil {
			t.buf = make([]byte, 32<<10)
		}
		n, err := t.src.Read(t.buf)
		eof := err == io.EOF
		ferr := t.tr.Feed(t.buf[:n], eof)
		t.out = append(t.out, t.tr.Output()...)
		switch {
		case ferr != nil:
			t.err = ferr
		case err != nil && !eof:
			t.err = err
		case !eof:
			continue
		}
		t.over = true
		t.tr.End()
		t.out = append(t.out, t.tr.Output()...)
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

func (t *translatedStream) Close() error { return t.src.Close() }

// translatedJSON reads a whole answer through a translator on first Read.
type translatedJSON struct {
	src  io.ReadCloser
	tr   Translator
	out  []byte
	err  error
	done bool
}

func (t *translatedJSON) Read(p []byte) (int, error) {
	if !t.done {
		t.done = true
		body, err := io.ReadAll(io.LimitReader(t.src, maxNativeJSON))
		if err != nil {
			t.err = err
		} else {
			t.out, _, t.err = t.tr.Answer(body)
		}
	}
	if len(t.out) > 0 {
		n := copy(p, t.out)
		t.out = t.out[n:]
		return n, nil
	}
	if t.err != nil {
		return 0, t.err
	}
	return 0, io.EOF
}

func (t *translatedJSON) Close() error { return t.src.Close() }

// newChunkWriter returns a chunk writer for a stream of model's chunks.
func newChunkWriter(model string) *chunkWriter {
	w := new(chunkWriter)
	w.init(model)
	return w
}

// take returns the rendered bytes and empties the buffer.
func (w *chunkWriter) take() []byte {
	out := w.buf
	w.buf = nil
	return out
}

package vendors

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// OpenAI embeddings on the native kinds that have embedding models of their
// own: Bedrock's Titan and Cohere models (InvokeModel) and Vertex AI's text
// embeddings (predict). The request's inputs go in the model family's body;
// the vectors come back as OpenAI's list of embedding objects, as floats or,
// when the client asks (the official SDKs do by default), as base64 of
// little-endian float32, and the usage is the vendor's token count.

// embeddingsFamily is the body an embedding model takes.
type embeddingsFamily uint8

const (
	familyTitan  embeddingsFamily = iota // amazon.titan-embed-*: {"inputText"}, one input per call
	familyCohere                         // cohere.embed-*: {"texts", "input_type"}
	familyVertex                         // Vertex AI: {"instances":[{"content"}]}
)

// embeddingsRequest is what the translations read of an OpenAI embeddings
// request.
type embeddingsRequest struct {
	inputs     []string
	dimensions int
	base64     bool
	// inputType is Cohere's input_type, when the client sent one (a
	// vendor-specific parameter, passed through); default search_document.
	inputType string
}

// parseEmbeddingsRequest reads input (a string or an array of strings;
// token arrays have no native counterpart), dimensions and
// encoding_format.
func parseEmbeddingsRequest(body []byte) (embeddingsRequest, error) {
	var r embeddingsRequest
	f := gjson.GetManyBytes(body, "input", "dimensions", "encoding_format", "input_type")
	switch in := f[0]; {
	case in.Type == gjson.String:
		r.inputs = []string{in.Str}
	case in.IsArray():
		for i, v := range in.Array() {
			if v.Type != gjson.String {
				return r, fmt.Errorf("input[%d]: token arrays are not supported by this vendor: send text", i)
			}
			r.inputs = append(r.inputs, v.Str)
		}
	default:
		return r, errors.New("input must be a string or an array of strings")
	}
	if len(r.inputs) == 0 {
		return r, errors.New("input must not be empty")
	}
	if d := f[1]; d.Exists() {
		if d.Type != gjson.Number || d.Int() < 1 || float64(d.Int()) != d.Num {
			return r, errors.New("dimensions must be a whole number of 1 or more")
		}
		r.dimensions = int(d.Int())
	}
	switch e := f[2].String(); e {
	case "", "float":
	case "base64":
		r.base64 = true
	default:
		return r, fmt.Errorf("encoding_format %q is not one of float, base64", e)
	}
	r.inputType = f[3].String()
	return r, nil
}

// bedrockEmbeddingsFamily tells the family of a Bedrock model id
// (inference profiles and ARNs included).
func bedrockEmbeddingsFamily(model string) (embeddingsFamily, bool) {
	switch {
	case strings.Contains(model, "titan-embed"):
		return familyTitan, true
	case strings.Contains(model, "cohere.embed"):
		return familyCohere, true
	}
	return 0, false
}

// embeddingsBody is the family's request body for r.
func embeddingsBody(family embeddingsFamily, r embeddingsRequest) ([]byte, error) {
	var body any
	switch family {
	case familyTitan:
		if len(r.inputs) != 1 {
			return nil, errors.New("a Titan embedding model takes one input per request: send one, or use a model that takes several")
		}
		b := map[string]any{"inputText": r.inputs[0]}
		if r.dimensions > 0 {
			b["dimensions"] = r.dimensions
		}
		body = b
	case familyCohere:
		inputType := r.inputType
		if inputType == "" {
			inputType = "search_document"
		}
		b := map[string]any{"texts": r.inputs, "input_type": inputType}
		if r.dimensions > 0 {
			b["output_dimension"] = r.dimensions
		}
		body = b
	case familyVertex:
		instances := make([]map[string]string, len(r.inputs))
		for i, in := range r.inputs {
			instances[i] = map[string]string{"content": in}
		}
		b := map[string]any{"instances": instances}
		if r.dimensions > 0 {
			b["parameters"] = map[string]int{"outputDimensionality": r.dimensions}
		}
		body = b
	}
	return json.Marshal(body)
}

// embeddingsTranslator is one embeddings attempt at Bedrock or Vertex. The
// answer half is nativeAnswer's (errors, and the stream methods, which an
// embeddings request never uses) but for Answer.
type embeddingsTranslator struct {
	nativeAnswer
	family  embeddingsFamily
	req     embeddingsRequest
	bedrock *bedrockBackend // one of bedrock and vertex
	vertex  *vertexBackend
	// headerTokens is the input token count Bedrock states in a response
	// header (Cohere's body has none).
	headerTokens int
}

func newEmbeddingsTranslator(v *Vendor, a Attempt, bedrock *bedrockBackend, vertex *vertexBackend) *embeddingsTranslator {
	t := &embeddingsTranslator{bedrock: bedrock, vertex: vertex}
	if bedrock != nil {
		t.nativeAnswer = nativeAnswer{v: v, a: a, read: &bedrockAnswers}
	} else {
		t.family = familyVertex
		t.nativeAnswer = nativeAnswer{v: v, a: a, read: &geminiAnswers}
	}
	return t
}

// Request builds InvokeModel (Bedrock) or predict (Vertex) with the
// family's body.
func (t *embeddingsTranslator) Request(out *http.Request) error {
	if t.bedrock != nil {
		family, ok := bedrockEmbeddingsFamily(t.a.Model)
		if !ok {
			return t.v.refused(fmt.Errorf("%s is not a Titan or Cohere embedding model", t.a.Model))
		}
		t.family = family
	}
	r, err := parseEmbeddingsRequest(t.a.Body)
	if err != nil {
		return t.v.refused(err)
	}
	body, err := embeddingsBody(t.family, r)
	if err != nil {
		return t.v.refused(err)
	}
	t.req = r
	if t.bedrock != nil {
		return t.bedrock.send(t.v, out, t.a.Model, "/invoke", body)
	}
	return t.vertex.send(t.v, out, "google", geminiModelName(t.a.Model), "predict", "", body)
}

// ResponseHeaders keeps Bedrock's input token count, then fits the header
// to the JSON the client gets.
func (t *embeddingsTranslator) ResponseHeaders(resp *http.Response) {
	if n, err := strconv.Atoi(resp.Header.Get("X-Amzn-Bedrock-Input-Token-Count")); err == nil && n >= 0 {
		t.headerTokens = n
	}
	t.nativeAnswer.ResponseHeaders(resp)
}

// Answer translates the vendor's vectors into OpenAI's list.
func (t *embeddingsTranslator) Answer(body []byte) ([]byte, meter.Result, error) {
	root := gjson.ParseBytes(body)
	var vectors []gjson.Result
	tokens := t.headerTokens
	switch t.family {
	case familyTitan:
		vectors = []gjson.Result{root.Get("embedding")}
		if n := root.Get("inputTextTokenCount"); n.Exists() {
			tokens = int(n.Int())
		}
	case familyCohere:
		e := root.Get("embeddings")
		if e.IsObject() { // with embedding_types: {"float": [...]}
			e = e.Get("float")
		}
		vectors = e.Array()
	case familyVertex:
		tokens = 0
		for _, p := range root.Get("predictions").Array() {
			vectors = append(vectors, p.Get("embeddings.values"))
			tokens += int(p.Get("embeddings.statistics.token_count").Int())
		}
	}
	if len(vectors) != len(t.req.inputs) {
		return nil, meter.Result{}, fmt.Errorf("the vendor returned %d embeddings for %d inputs", len(vectors), len(t.req.inputs))
	}
	out := make([]byte, 0, 64+len(body))
	out = append(out, `{"object":"list","data":[`...)
	for i, vec := range vectors {
		if !vec.IsArray() {
			return nil, meter.Result{}, errors.New("the vendor's embedding is not an array of numbers")
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"object":"embedding","index":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"embedding":`...)
		if t.req.base64 {
			out = appendBase64Floats(out, vec)
		} else {
			out = append(out, vec.Raw...)
		}
		out = append(out, '}')
	}
	out = append(out, `],"model":`...)
	out = strconv.AppendQuote(out, t.a.Model)
	out = append(out, `,"usage":{"prompt_tokens":`...)
	out = strconv.AppendInt(out, int64(tokens), 10)
	out = append(out, `,"total_tokens":`...)
	out = strconv.AppendInt(out, int64(tokens), 10)
	out = append(out, `}}`...)
	return out, meter.InspectJSON(out, t.a.PromptTokens), nil
}

// appendBase64Floats appends vec as OpenAI's base64 encoding_format: a
// JSON string of the little-endian float32 values, base64-encoded.
func appendBase64Floats(out []byte, vec gjson.Result) []byte {
	values := vec.Array()
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v.Float())))
	}
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, '"')
}

// Interface guards
var _ Translator = (*embeddingsTranslator)(nil)

package llmrouter

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// Removing "routing" keeps every other member, in order, also past the
// members whose spans are held inline, and moves the model's span with it.
func TestWithoutRoutingManyMembers(t *testing.T) {
	for _, n := range []int{3, 16, 17, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var in, want []string
			for i := range n {
				m := fmt.Sprintf(`"k%d":%d`, i, i)
				in, want = append(in, m), append(want, m)
				if i%7 == 0 {
					in = append(in, `"routing":"price"`)
				}
			}
			in = append(in, `"model":"gpt-4o"`, ` "routing" : "perf" `)
			want = append(want, `"model":"gpt-4o"`)
			body := []byte(" {" + strings.Join(in, ",") + "}")

			var f topLevel
			require.NoError(t, readTopLevel(&f, body))
			assert.Equal(t, "price", f.routing.Str, "the first routing member counts")
			out, layout := f.withoutRouting(body)
			assert.Equal(t, " {"+strings.Join(want, ",")+"}", string(out))
			assert.True(t, json.Valid(out))
			assert.Equal(t, len(want), layout.Members)
			assert.Equal(t, `"gpt-4o"`, string(out[layout.Model.Start:layout.Model.End]))
			assert.Contains(t, string(body), `"routing"`, "the client's body is not modified")
		})
	}
}

// parseValue builds the Result gjson.Parse would, for the values it builds
// itself (plain strings, literals, non-negative integers) and for those it
// leaves to gjson.
func TestParseValueIsGJSONParse(t *testing.T) {
	for _, raw := range []string{"0", "-0", "1", "64", "4096", "-7", "1700000000", "999999999999999999",
		"1000000000000000000", "123456789012345678901234", "0.5", "1e3", "-1.5E-2", `"gpt-4o"`, `""`,
		`"a\"b"`, `"caf\u00e9"`, `"\\"`, `"tab\there"`, `"é"`,
		"true", "false", "null", `{"include_usage":true}`, "[1,2]"} {
		want := gjson.Parse(raw)
		got := parseValue(raw)
		assert.Equal(t, want, got, raw)
		assert.Equal(t, math.Signbit(want.Num), math.Signbit(got.Num), raw)
		assert.Equal(t, want.Int(), got.Int(), raw)
	}
}

// memberIsTrue reads stream_options.include_usage as gjson.Get does: the
// first member of that name, its key unescaped, true only for the literal.
func TestMemberIsTrueIsGJSONGet(t *testing.T) {
	for _, obj := range []string{`{"include_usage":true}`, `{"include_usage":false}`, `{"include_usage":"true"}`,
		`{"include_usage":1}`, `{"include_usage":null}`, `{}`, `{"other":true}`, `{"include\u005fusage":true}`,
		`{"x":{"include_usage":true},"include_usage":false}`, `{"include_usage":true,"include_usage":false}`,
		`{"include_usage":false,"include_usage":true}`, ` { "include_usage" : true } `, `null`, `"include_usage"`,
		`[{"include_usage":true}]`, `true`} {
		want := gjson.Get(obj, "include_usage")
		isTrue, found := memberIsTrue(obj, "include_usage")
		assert.Equal(t, want.Exists(), found, obj)
		assert.Equal(t, want.Type == gjson.True, isTrue, obj)
	}
}

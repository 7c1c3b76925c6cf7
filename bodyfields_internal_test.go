package llmrouter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

package llmrouter

import (
	"bytes"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// countingObject is a log field that counts how often it is encoded.
type countingObject struct{ encoded *int }

func (o countingObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	*o.encoded++
	enc.AddString("uri", "/v1/chat/completions")
	return nil
}

// TestProxyLogFieldsDeferred checks that the embedded reverse proxy's
// logger is found and replaced: it fails when a Caddy upgrade renames or
// retypes the field, so that losing the saving is noticed.
func TestProxyLogFieldsDeferred(t *testing.T) {
	p := &reverseproxy.Handler{}
	field := proxyLogger(p)
	require.NotNil(t, field, "reverseproxy.Handler has no logger field of type *zap.Logger any more")
	assert.False(t, deferProxyLogFields(p), "an unprovisioned handler has no logger to wrap")

	*field = zap.NewNop() // what Provision sets
	require.True(t, deferProxyLogFields(p))
	assert.IsType(t, lazyFieldsCore{}, (*field).Core())
}

// TestLazyFieldsCore checks what the deferral changes: a logger made with
// With encodes its fields only when it writes a line at an enabled level,
// and then writes exactly the fields it would have written at once.
func TestLazyFieldsCore(t *testing.T) {
	var eager, lazy bytes.Buffer
	newCore := func(out *bytes.Buffer) zapcore.Core {
		enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level",
			EncodeLevel: zapcore.LowercaseLevelEncoder})
		return zapcore.NewCore(enc, zapcore.AddSync(out), zapcore.InfoLevel)
	}
	log := func(core zapcore.Core) (encodedAfterWith, encodedAfterDebug int) {
		var n int
		l := zap.New(core).With(zap.String("upstream", "127.0.0.1:9"), zap.Object("request", countingObject{&n}))
		encodedAfterWith = n
		l.Debug("upstream roundtrip") // below the core's level: dropped
		encodedAfterDebug = n
		l.Warn("aborting with incomplete response", zap.String("error", "reading"))
		l.Warn("again")
		assert.Equal(t, 1, n, "the fields are encoded once, however many lines are written")
		return
	}

	afterWith, afterDebug := log(newCore(&eager))
	assert.Equal(t, 1, afterWith, "zap's own core encodes With's fields at once")
	assert.Equal(t, 1, afterDebug)

	afterWith, afterDebug = log(lazyFieldsCore{newCore(&lazy)})
	assert.Equal(t, 0, afterWith, "the lazy core encodes nothing until a line is written")
	assert.Equal(t, 0, afterDebug, "nor for a line below the level")

	assert.Equal(t, eager.String(), lazy.String(), "the lines written are the same")
	assert.Contains(t, lazy.String(), `"upstream":"127.0.0.1:9","request":{"uri":"/v1/chat/completions"}`)
}

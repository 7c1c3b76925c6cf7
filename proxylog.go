package llmrouter

import (
	"reflect"
	"unsafe"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// deferProxyLogFields makes the embedded proxy's logger encode the fields
// it is given with Logger.With only when a line is actually written.
//
// reverse_proxy makes a logger per attempt, with the upstream, the
// duration and the whole request (every header) as fields, for a DEBUG line
// ("upstream roundtrip") and for the WARN line of a response aborted
// midway. zap encodes With's fields at once, so every request paid for
// encoding the request as JSON (about 20k instructions and 17 allocations,
// 5-7 µs of Caddy's CPU in the load benchmark's profiles) for a line that is
// dropped at the default INFO level. Plain reverse_proxy pays it too. zapcore.NewLazyWith defers the encoding to the first line written
// at an enabled level, where it produces the same fields.
//
// The logger is an unexported field of reverseproxy.Handler, set by its
// Provision; there is no option for it. It is replaced through reflection
// and left alone (reporting false) if a Caddy version names or types it
// otherwise: TestProxyLogFieldsDeferred then fails, so that an upgrade
// that loses the saving is noticed.
func deferProxyLogFields(p *reverseproxy.Handler) bool {
	logger := proxyLogger(p)
	if logger == nil || *logger == nil {
		return false
	}
	*logger = (*logger).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return lazyFieldsCore{c} }))
	return true
}

// proxyLogger is where p keeps its logger, or nil if it has no such field.
func proxyLogger(p *reverseproxy.Handler) **zap.Logger {
	f := reflect.ValueOf(p).Elem().FieldByName("logger")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*zap.Logger]() {
		return nil
	}
	return (**zap.Logger)(unsafe.Pointer(f.UnsafeAddr()))
}

// lazyFieldsCore is a core whose With defers encoding its fields
// (zapcore.NewLazyWith), and so does every core made from it.
type lazyFieldsCore struct{ zapcore.Core }

func (c lazyFieldsCore) With(fields []zapcore.Field) zapcore.Core {
	return lazyFieldsCore{zapcore.NewLazyWith(c.Core, fields)}
}

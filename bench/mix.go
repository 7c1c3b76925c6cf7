package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// kind is one of the four request shapes of the mix.
type kind int

const (
	smallJSON kind = iota
	smallStream
	largeJSON
	largeStream
	numKinds
)

var kindNames = [numKinds]string{"small", "small+stream", "large", "large+stream"}

func (k kind) String() string { return kindNames[k] }

func (k kind) stream() bool { return k == smallStream || k == largeStream }

// kindOf is the kind of the i-th request: the mix cycles through its kinds
// (by default all four), so every phase sends them in equal shares.
func (m *mix) kindOf(i int) kind { return m.kinds[i%len(m.kinds)] }

// mix holds the request bodies.
type mix struct {
	bodies [numKinds][]byte
	kinds  []kind // the kinds sent, in turn
	// bodyApart makes the Go generator send each body in a write of its
	// own, after the headers (see streamedBody).
	bodyApart bool
	// oneWrite makes the Go generator send each request, headers and body,
	// in one write, as wrk does (see clientFor).
	oneWrite bool
}

// parseKinds reads -kinds: names from kindNames, comma-separated.
func parseKinds(s string) ([]kind, error) {
	var out []kind
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		found := false
		for k, n := range kindNames {
			if n == name {
				out = append(out, kind(k))
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown kind %q (want %s)", name, strings.Join(kindNames[:], ", "))
		}
	}
	return out, nil
}

// newMix builds the bodies. Small prompts are a system and a user message
// (~250 bytes); large prompts are a conversation of about largeKB KiB (about
// largeKB*256 tokens). Streaming requests ask for
// stream_options.include_usage, so the usage chunk is part of every stream.
// "stream" comes before "messages" so the fake finds it without scanning the
// prompt.
func newMix(largeKB int, kinds []kind) *mix {
	small := []message{
		{"system", "You are a helpful assistant."},
		{"user", "Write a haiku about load balancers and the people who run them."},
	}
	large := []message{{"system", "You are a helpful assistant that answers questions about the conversation so far."}}
	para := "In the operations review the team walked through last quarter's incidents, the latency budget of every " +
		"service on the request path, and the cost of each vendor, and agreed that gateways must stay invisible: " +
		"a proxy that adds more than a fraction of a millisecond is a proxy someone will try to remove. "
	size := 0
	for turn := 0; size < largeKB<<10; turn++ {
		role := "user"
		if turn%2 == 1 {
			role = "assistant"
		}
		text := fmt.Sprintf("Turn %d. %s", turn, strings.Repeat(para, 6))
		large = append(large, message{role, text})
		size += len(text) + 32
	}
	large = append(large, message{"user", "Summarise the conversation in one sentence."})

	m := &mix{kinds: kinds}
	if len(m.kinds) == 0 {
		m.kinds = []kind{smallJSON, smallStream, largeJSON, largeStream}
	}
	m.bodies[smallJSON] = body(small, false)
	m.bodies[smallStream] = body(small, true)
	m.bodies[largeJSON] = body(large, false)
	m.bodies[largeStream] = body(large, true)
	return m
}

type message struct{ Role, Content string }

func body(msgs []message, stream bool) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o",`)
	if stream {
		b.WriteString(`"stream":true,"stream_options":{"include_usage":true},`)
	} else {
		b.WriteString(`"stream":false,`)
	}
	b.WriteString(`"max_tokens":64,"temperature":0.7,"messages":[`)
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		c, _ := json.Marshal(m.Content)
		fmt.Fprintf(&b, `{"role":%q,"content":%s}`, m.Role, c)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

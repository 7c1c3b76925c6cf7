package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An excerpt of callgrind_annotate --inclusive=yes, as valgrind 3.19 writes
// it for a Go binary.
const annotateReport = `--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
805,678,958 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                    file:function
--------------------------------------------------------------------------------
587,086,000 (72.87%)  /usr/local/go/src/net/http/server.go:net/http.(*conn).serve [/tmp/caddy]
218,592,958 (27.13%)  /usr/local/go/src/runtime/mgc.go:runtime.gcBgMarkWorker [/tmp/caddy]
180,000,000 (22.34%)  /usr/local/go/src/runtime/runtime1.go:runtime.gcBgMarkWorker
  9,000,000 ( 1.12%)  /usr/local/go/src/runtime/mgc.go:runtime.gcBgMarkWorker'2 [/tmp/caddy]
`

func TestParseAnnotate(t *testing.T) {
	assert.Equal(t, 805678958.0, parseAnnotate([]byte(annotateReport)))
	assert.Zero(t, parseAnnotate([]byte("nothing callgrind wrote\n")))
}

func TestInstructionsMarkdown(t *testing.T) {
	md := instructionsMarkdown(&config{}, []instrResult{
		{kind: "small", mode: "rp", total: 360e3},
		{kind: "small", mode: "router", total: 370e3},
	})
	assert.Contains(t, md, "| small | rp | 360.0k | – |")
	assert.Contains(t, md, "| small | router | 370.0k | +10.0k |")
	assert.Equal(t, 1, strings.Count(md, "### Instructions per request"))
}

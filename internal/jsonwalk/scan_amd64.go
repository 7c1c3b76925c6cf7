package jsonwalk

import "golang.org/x/sys/cpu"

// useAVX2 is whether long runs of string bytes are scanned with AVX2,
// 32 bytes per instruction, rather than eight at a time in Go: a prompt's
// text is most of what a request's validation reads.
var useAVX2 = cpu.X86.HasAVX2

// indexSpecialAVX2 returns the index of the first byte of p[0:n] that is
// '"', '\\' or a control character, or, if the whole 32-byte blocks of p
// hold none, the length of those blocks. Implemented in scan_amd64.s.
//
//go:noescape
func indexSpecialAVX2(p *byte, n int) int

//go:build !amd64

package jsonwalk

// useAVX2 is false where there is no AVX2 scan: skipPlain's Go loop does
// all the work.
const useAVX2 = false

func indexSpecialAVX2(p *byte, n int) int { panic("jsonwalk: no AVX2 scan on this architecture") }

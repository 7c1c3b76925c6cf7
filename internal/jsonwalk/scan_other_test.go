//go:build !amd64

package jsonwalk

func setAVX2(bool) {}

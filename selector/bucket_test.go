package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBucketOf(t *testing.T) {
	cases := []struct {
		tokens, bucket int
	}{
		{-5, 0},
		{0, 0},
		{256, 0},
		{257, 1},
		{1024, 1},
		{1025, 2},
		{4096, 2},
		{4097, 3},
		{16384, 3},
		{16385, 4},
		{65536, 4},
		{65537, 5},
		{1 << 30, 5},
	}
	for _, c := range cases {
		assert.Equal(t, c.bucket, BucketOf(c.tokens), "BucketOf(%d)", c.tokens)
	}
}

func TestBucketLimit(t *testing.T) {
	for b := range NumBuckets - 1 {
		limit := BucketLimit(b)
		assert.Equal(t, b, BucketOf(limit))
		assert.Equal(t, b+1, BucketOf(limit+1))
	}
	assert.Zero(t, BucketLimit(NumBuckets-1), "the last bucket has no limit")
	assert.Zero(t, BucketLimit(-1))
	assert.Zero(t, BucketLimit(NumBuckets))
}

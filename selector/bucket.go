package selector

// NumBuckets is the number of prompt-size buckets latency is tracked in:
// up to 256, 1k, 4k, 16k and 64k estimated prompt tokens, and more than 64k.
//
// Latency is kept per bucket because time to first byte grows with the
// prompt, and not at the same rate for every vendor: the fastest route for a
// short chat turn is not necessarily the fastest for a 50k-token document.
const NumBuckets = 6

// bucketLimits holds the inclusive upper bound of every bucket but the last.
var bucketLimits = [NumBuckets - 1]int{256, 1 << 10, 4 << 10, 16 << 10, 64 << 10}

// BucketOf returns the prompt-size bucket, in [0, NumBuckets), of a prompt of
// promptTokens estimated tokens. Negative counts fall in bucket 0.
func BucketOf(promptTokens int) int {
	for i, limit := range bucketLimits {
		if promptTokens <= limit {
			return i
		}
	}
	return NumBuckets - 1
}

// BucketLimit returns the largest estimated prompt size that falls in bucket
// b, or 0 for the last bucket, which has no limit (and for b out of range).
func BucketLimit(b int) int {
	if b < 0 || b >= len(bucketLimits) {
		return 0
	}
	return bucketLimits[b]
}

package selector

import "time"

// stats is what a route learned from its successes and failures: time to
// first token per prompt-size bucket, decode speed, completion sizes and
// outcome counts. It is plain data, not safe for concurrent use: the
// memoryRoute that holds it guards it with its mutex.
type stats struct {
	// ttft is the time to first token in milliseconds, per bucket.
	ttft [NumBuckets]ttftMean
	// decode is the time per completion token after the first, in
	// milliseconds. The mean of times rather than of speeds is kept because
	// predictions add times up: tokens x mean time per token is the expected
	// decode time, tokens / mean speed is not.
	decode decayingMean
	// completion is the number of completion tokens per response.
	completion decayingMean
	successes  int64
	failures   int64
	// lastSample is when the newest success was observed; zero if none.
	lastSample time.Time
}

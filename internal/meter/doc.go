// Package meter reads an OpenAI-compatible vendor response as it passes
// through the router to the client.
//
// The router needs three things from every response without holding it back
// more than necessary:
//
//   - a commit point: a stream is held until its first content token, so that
//     an error the vendor reports before it (often inside an HTTP 200) can
//     still fail over to another vendor ([Stream.Committed], [Stream.Err]);
//   - metering: the tokens the vendor itself reported, or an estimate when it
//     reported none ([Usage], [Cost]);
//   - stream shaping: usage-only chunks the router asked for only to meter are
//     dropped, and a usage chunk the client asked for is synthesized when the
//     vendor put usage elsewhere ([StreamOptions]).
//
// An [Assembler] turns a stream of chat.completion.chunk events into the one
// chat.completion the vendor would have answered without streaming (the
// router streams hedged requests from the vendor whatever the client asked).
//
// A [Stream] handles `text/event-stream` bodies of chat.completion.chunk (or
// legacy text_completion) events; [InspectJSON] handles complete
// non-streaming bodies. Both work on the vendor's bytes in place, through
// unsafe string views: the lenient scanners of internal/jsonwalk find the
// members of a chunk in one pass and tell empty strings from non-empty ones
// without unescaping them, and gjson reads the small members found (usage,
// error). The steady state of a stream does not allocate.
package meter

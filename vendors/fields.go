package vendors

// fieldSet is a set of the top-level request fields that some kind's
// sanitizer renames, drops or keeps (sanitize.go). The validating pass
// over a body notes which of them the body has (Layout.ObserveNamed), so
// that a sanitizer does not search a long conversation for a field that
// is not there: each search is a scan of the whole body, and on a 32 KiB
// prompt they took 12 µs (OpenAI's tool call ids) to 80 µs (Mistral's
// fields) an attempt in a hot loop (BenchmarkSanitize32KiB).
type fieldSet uint32

const (
	fieldModel fieldSet = 1 << iota
	fieldMessages
	fieldTemperature
	fieldTopP
	fieldMaxTokens
	fieldMaxCompletionTokens
	fieldStream
	fieldStreamOptions
	fieldStop
	fieldSeed
	fieldRandomSeed
	fieldResponseFormat
	fieldTools
	fieldToolChoice
	fieldPresencePenalty
	fieldFrequencyPenalty
	fieldN
	fieldPrediction
	fieldParallelToolCalls
	fieldPromptMode
	fieldSafePrompt
	fieldStore
	fieldMetadata
	fieldServiceTier
	fieldUser
)

// fieldOf returns the member of fieldSet named name, or 0 for a name the
// set does not have (a switch rather than a map: the validator asks for
// every top-level member of every request, whose name is a []byte).
func fieldOf[T string | []byte](name T) fieldSet {
	switch string(name) {
	case "model":
		return fieldModel
	case "messages":
		return fieldMessages
	case "temperature":
		return fieldTemperature
	case "top_p":
		return fieldTopP
	case "max_tokens":
		return fieldMaxTokens
	case "max_completion_tokens":
		return fieldMaxCompletionTokens
	case "stream":
		return fieldStream
	case "stream_options":
		return fieldStreamOptions
	case "stop":
		return fieldStop
	case "seed":
		return fieldSeed
	case "random_seed":
		return fieldRandomSeed
	case "response_format":
		return fieldResponseFormat
	case "tools":
		return fieldTools
	case "tool_choice":
		return fieldToolChoice
	case "presence_penalty":
		return fieldPresencePenalty
	case "frequency_penalty":
		return fieldFrequencyPenalty
	case "n":
		return fieldN
	case "prediction":
		return fieldPrediction
	case "parallel_tool_calls":
		return fieldParallelToolCalls
	case "prompt_mode":
		return fieldPromptMode
	case "safe_prompt":
		return fieldSafePrompt
	case "store":
		return fieldStore
	case "metadata":
		return fieldMetadata
	case "service_tier":
		return fieldServiceTier
	case "user":
		return fieldUser
	}
	return 0
}

// fieldsNamed is the set of names, each of which must be in fieldSet: the
// sanitizers' lists of names are checked against the set once, at start.
func fieldsNamed(names ...string) fieldSet {
	var s fieldSet
	for _, name := range names {
		f := fieldOf(name)
		if f == 0 {
			panic("vendors: field " + name + " is missing from fieldSet (fields.go)")
		}
		s |= f
	}
	return s
}

// note records a top-level member named name.
func (l *Layout) note(name []byte) {
	if f := fieldOf(name); f != 0 {
		l.fields |= f
	} else {
		l.otherFields = true
	}
}

// mayHave reports whether body, the attempt's, may have a top-level member
// named name: false only when a validating pass saw every member of the
// body (a.Layout.Known) and none of that name, among the names it notes.
func mayHave(a Attempt, name string) bool {
	f := fieldOf(name)
	return f == 0 || !a.Layout.Known || a.Layout.fields&f != 0
}

// hasOnly reports whether every top-level member of the attempt's body is
// known to have a name in allowed.
func hasOnly(a Attempt, allowed fieldSet) bool {
	return a.Layout.Known && !a.Layout.otherFields && a.Layout.fields&^allowed == 0
}

package jsonwalk

import (
	"math"
	"sync"
)

// StringIndex is where the long strings of one top-level member are, as the
// validator found them (ObjectIndexed), so that a lenient reader of the same
// member (an Iter from IndexedIter) steps over them without scanning them
// again. A prompt is mostly long strings, and the prompt estimate reads the
// messages the validator has just read: with the index, each byte of a
// prompt is scanned once.
//
// An entry is only a shortcut: a lookup that finds nothing leaves the
// reader to scan, and one that finds a string gives what the scan would
// have (in valid JSON, the strict and the lenient readers see the same
// strings). Indexes are pooled: one is valid only during ObjectIndexed's
// visits.
type StringIndex struct {
	entries []indexedString // in increasing order of start
	next    int             // entries before it are behind every lookup to come
	hits    int             // lookups that found their string (for tests)
}

// indexedString is one string, quotes included: text[start:end].
// backslashes counts the backslashes between the quotes, for StringBytes.
type indexedString struct{ start, end, backslashes int32 }

const (
	// minIndexedString is the shortest string recorded. A shorter one is
	// scanned again: SkipString reads its first 48 bytes about as fast as
	// it would look it up.
	minIndexedString = 64
	// maxPooledStrings bounds the entries a pooled index keeps room for, so
	// that one huge conversation does not pin its index's memory.
	maxPooledStrings = 1 << 14
)

// The indexes are pooled rather than the caller's: the validator's walker
// hands slices of the text to visit, and escape analysis, which does not
// tell a struct's fields apart, would move an index held beside the text to
// the heap with every caller's frame.
var indexPool = sync.Pool{New: func() any { return &StringIndex{entries: make([]indexedString, 0, 64)} }}

// reset forgets the entries, before the validator reads another member.
func (x *StringIndex) reset() {
	x.entries, x.next, x.hits = x.entries[:0], 0, 0
}

// add records the string text[start:end] with its backslashes, if it is
// long enough to be worth it. Strings come in increasing order of start.
func (x *StringIndex) add(start, end, backslashes int) {
	if end-start < minIndexedString || end > math.MaxInt32 {
		return
	}
	x.entries = append(x.entries, indexedString{int32(start), int32(end), int32(backslashes)})
}

// lookup returns the string that starts at offset start of the text, or nil
// if none was recorded there. Readers look forward: entries before start are
// dropped from later lookups, so that a reader going through the text looks
// at each entry about once.
func (x *StringIndex) lookup(start int) *indexedString {
	for x.next < len(x.entries) {
		e := &x.entries[x.next]
		switch {
		case int(e.start) < start:
			x.next++
		case int(e.start) == start:
			x.next++
			x.hits++
			return e
		default:
			return nil
		}
	}
	return nil
}

// ObjectIndexed is Object, handing visit with each member an index of the
// member's long strings: visit may read the member with IndexedIter(m, idx).
// The index is valid only during the call to visit.
func ObjectIndexed(b []byte, visit func(m Member, idx *StringIndex)) (open int, err error) {
	idx := indexPool.Get().(*StringIndex)
	open, err = object(b, idx, func(m Member) { visit(m, idx) })
	idx.reset()
	if cap(idx.entries) <= maxPooledStrings {
		indexPool.Put(idx)
	}
	return open, err
}

// IndexedIter returns an iterator whose pending value is m's, as ValueIter
// does, that takes the extent and size of m's long strings from idx rather
// than scanning them (Next, Value, StringBytes). Call it from ObjectIndexed's
// visit, while idx holds m's strings.
func IndexedIter(m Member, idx *StringIndex) Iter {
	it := ValueIter(View(m.Value))
	it.idx, it.base = idx, m.ValueEnd-len(m.Value)
	return it
}

package jsonwalk

// Iter walks the members of an object or the elements of an array in a
// single pass, a lenient scanner (see the package doc). After Next, the
// current value is pending: the caller may take it whole with Value, walk
// into it with Enter, or ignore it, in which case Next skips it.
//
// It exists for the selector's prompt estimate, which looks a few levels
// deep (messages, their content parts, tool calls) for a handful of keys.
// Walking into values rather than first finding their end is what keeps the
// scan to one pass however deep the text sits, and an iterator, unlike
// WalkObject's callbacks, lets each level be a loop in the caller.
//
// It is the most forgiving of the scanners: it does not match brackets (a
// ']' ends an object too), skips stray commas, and reads garbage where a
// value should be as a value running to the next delimiter. It stops for
// good at anything else it cannot read, so malformed text yields less, never
// a panic or a loop.
type Iter struct {
	s string
	// i is the next byte to look at; while a value is pending, its start.
	i       int
	obj     bool
	pending bool
	// keyStart and keyEnd delimit the current member's key, see Key. They
	// are offsets rather than a string because storing a substring of s
	// through the receiver would make escape analysis move every iterator,
	// and the parents they point to, to the heap.
	keyStart, keyEnd int
	// parent, for an iterator made by Enter, resumes after this container
	// once the iteration reaches its closing bracket.
	parent *Iter
	// idx, when not nil, knows where s's long strings end (IndexedIter);
	// base is s's offset in the text it indexes.
	idx  *StringIndex
	base int
}

// NewIter returns an iterator over raw, which should hold an object or an
// array (leading white space allowed). Anything else yields nothing.
func NewIter(raw string) Iter {
	return startIter(raw, SkipSpace(raw, 0), nil)
}

// ValueIter returns an iterator whose pending value is raw, a whole value
// without surrounding white space (such as a Member's Value), so that a
// caller handed a value reads it with Peek, Value and Enter like any other.
func ValueIter(raw string) Iter {
	return Iter{s: raw, pending: len(raw) > 0}
}

// startIter returns an iterator over the container that starts at s[i].
func startIter(s string, i int, parent *Iter) Iter {
	it := Iter{s: s, i: len(s), parent: parent}
	if parent != nil {
		it.idx, it.base = parent.idx, parent.base
	}
	if i < len(s) && (s[i] == '{' || s[i] == '[') {
		it.obj = s[i] == '{'
		it.i = i + 1
	}
	return it
}

// Next advances to the next member or element and reports whether there is
// one.
func (it *Iter) Next() bool {
	s := it.s
	if it.pending {
		it.pending = false
		end := it.skipValue(it.i)
		if end < 0 {
			return it.stop()
		}
		it.i = end
	}
	for {
		i := SkipSpace(s, it.i)
		if i >= len(s) {
			return it.stop()
		}
		switch s[i] {
		case ',':
			it.i = i + 1
			continue
		case '}', ']':
			// Brackets are not matched: a "]" ends an object too, which is
			// all an estimate needs.
			if p := it.parent; p != nil && p.pending {
				p.i = i + 1
				p.pending = false
			}
			return it.stop()
		}
		if it.obj {
			if s[i] != '"' {
				return it.stop()
			}
			end := SkipString(s, i)
			if end < 0 {
				return it.stop()
			}
			it.keyStart, it.keyEnd = i+1, end-1
			i = SkipSpace(s, end)
			if i >= len(s) || s[i] != ':' {
				return it.stop()
			}
			i = SkipSpace(s, i+1)
			if i >= len(s) {
				return it.stop()
			}
		}
		it.i = i
		it.pending = true
		return true
	}
}

// stop ends the iteration for good. An iterator that stops on malformed
// input leaves its parent's value pending, so the parent skips it.
func (it *Iter) stop() bool {
	it.i = len(it.s)
	it.keyStart, it.keyEnd = 0, 0
	it.pending, it.parent = false, nil
	return false
}

// Key returns the raw key of the current member, without its quotes; empty
// for array elements. Escapes are left as they are: the keys a lenient
// reader looks up have none.
func (it *Iter) Key() string {
	return it.s[it.keyStart:it.keyEnd]
}

// Peek returns the first byte of the pending value ('"', '{', '[', a digit
// ...), or 0 if there is none: enough to tell a value's type without
// reading it.
func (it *Iter) Peek() byte {
	if !it.pending {
		return 0
	}
	return it.s[it.i]
}

// Value consumes the pending value and returns it raw: a string with its
// quotes, a whole object or array, or a scalar. It returns "" if there is no
// pending value or it is malformed, and then the iteration stops.
func (it *Iter) Value() string {
	if !it.pending {
		return ""
	}
	it.pending = false
	end := it.skipValue(it.i)
	if end < 0 {
		it.stop()
		return ""
	}
	v := it.s[it.i:end]
	it.i = end
	return v
}

// Enter returns an iterator over the pending value's members or elements;
// nothing if it is not an object or array. Iterating it to its end consumes
// the value; abandoning it leaves the value pending, to be skipped.
func (it *Iter) Enter() Iter {
	if !it.pending {
		return Iter{}
	}
	return startIter(it.s, it.i, it)
}

// StringBytes consumes the pending value and returns its size as the
// package's StringBytes gives it: the decoded length of a string, 0 for
// anything else.
func (it *Iter) StringBytes() int {
	if it.pending && it.idx != nil && it.s[it.i] == '"' {
		if e := it.idx.lookup(it.base + it.i); e != nil {
			it.pending = false
			it.i = int(e.end) - it.base
			return int(e.end-e.start) - 2 - int(e.backslashes)
		}
	}
	return StringBytes(it.Value())
}

// skipValue is SkipValue on s, with the iterator's index, if any.
func (it *Iter) skipValue(i int) int {
	return skipValueAt(it.s, i, it.idx, it.base)
}

// skipStringAt is SkipString, or the end idx (when not nil) knows for the
// string at s[i], s being at offset base of the text idx indexes.
func skipStringAt(s string, i int, idx *StringIndex, base int) int {
	if idx != nil {
		if e := idx.lookup(base + i); e != nil {
			return int(e.end) - base
		}
	}
	return SkipString(s, i)
}

package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// spill is the append-only file that holds the entries the database has not
// taken: those of a batch that failed (database down or slow) and those
// recorded while the queue was full. It is a file of JSON lines, one Entry
// each; the writer replays it, idempotently by request id, once the
// database answers, and truncates it when it has all been committed.
//
// Appends are whole lines under mu, so a line is only ever cut short by a
// crash; openSpill ends such a line so that later appends stay readable,
// and the replay skips it.
type spill struct {
	path string

	mu    sync.Mutex
	f     *os.File // O_RDWR|O_APPEND; nil once closed
	size  int64    // bytes in the file
	dirty bool     // appended since the last fsync
	buf   []byte   // encoding scratch, under mu
}

// openSpill opens (creating it and its directory) the spill file at path.
func openSpill(path string) (*spill, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	sp := &spill{path: path, f: f}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sp.size = fi.Size()
	if sp.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, sp.size-1); err != nil {
			f.Close()
			return nil, err
		}
		if last[0] != '\n' { // a line cut by a crash: end it, the replay skips it
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, err
			}
			sp.size++
		}
	}
	return sp, nil
}

// append writes entries as JSON lines, and fsyncs when durable is set (the
// writer's batches; Record's single entries are synced on the writer's
// next tick, as a write survives the process being killed).
func (sp *spill) append(entries []Entry, durable bool) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	buf := sp.buf[:0]
	for i := range entries {
		b, err := json.Marshal(&entries[i])
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	sp.buf = buf[:0]
	f := sp.f
	if f == nil { // closed ledger: a late Record still reaches the file
		var err error
		if f, err = os.OpenFile(sp.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			return err
		}
		defer f.Close()
		durable = true
	}
	n, err := f.Write(buf)
	sp.size += int64(n)
	if err != nil {
		return err
	}
	if durable {
		return f.Sync()
	}
	sp.dirty = true
	return nil
}

// sync fsyncs what append left unsynced.
func (sp *spill) sync() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.dirty || sp.f == nil {
		return nil
	}
	sp.dirty = false
	return sp.f.Sync()
}

// pending reports whether the file holds anything.
func (sp *spill) pending() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.size > 0
}

// read decodes up to max entries from offset on, appending them to into,
// and returns where the next read starts and how many lines it skipped as
// unreadable (cut by a crash).
func (sp *spill) read(offset int64, max int, into []Entry) ([]Entry, int64, int, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f == nil {
		return into, offset, 0, os.ErrClosed
	}
	r := bufio.NewReaderSize(io.NewSectionReader(sp.f, offset, sp.size-offset), 64<<10)
	skipped := 0
	for len(into) < max {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return into, offset, skipped, err
		}
		offset += int64(len(line))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var e Entry
		if json.Unmarshal(line, &e) != nil || e.RequestID == "" {
			skipped++
			continue
		}
		into = append(into, e)
	}
	return into, offset, skipped, nil
}

// truncateAt empties the file if it ends at offset (nothing was appended
// since the replay read it all) and reports whether it did.
func (sp *spill) truncateAt(offset int64) (bool, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f == nil || sp.size != offset {
		return false, nil
	}
	if err := sp.f.Truncate(0); err != nil {
		return false, err
	}
	sp.size, sp.dirty = 0, false
	return true, sp.f.Sync()
}

// close fsyncs and closes the file; later appends open it for each call.
func (sp *spill) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f == nil {
		return nil
	}
	err := sp.f.Sync()
	if cerr := sp.f.Close(); err == nil {
		err = cerr
	}
	sp.f = nil
	return err
}

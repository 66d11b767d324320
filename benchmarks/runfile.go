package benchmarks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by OpenRunFile when another process holds the
// results file: two runs appending to one file would prove the same
// theorems twice and lose each other's sessions from the sidecar.
var ErrLocked = errors.New("benchmarks: results file in use by another run")

// ErrNotRegular is returned for sidecar and resume operations on a results
// file that is not a regular file (/dev/stdout, a pipe): nothing is
// written beside such a path.
var ErrNotRegular = errors.New("benchmarks: not a regular file")

// RunFile is a results file (--out) opened for one run. A regular file is
// locked (flock, exclusive) until Close, so that the sidecar is read and
// updated under the lock; another path (a terminal, /dev/stdout,
// /dev/full, a pipe) is only appended to and gets no sidecar.
type RunFile struct {
	Path    string
	f       *os.File
	regular bool
	created bool
}

// OpenRunFile opens path for appending, creating it, and locks it. It
// fails at once with ErrLocked when another run holds it.
func OpenRunFile(path string) (*RunFile, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		// Character devices and pipes may refuse reading.
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return nil, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	rf := &RunFile{Path: path, f: f, regular: fi.Mode().IsRegular(), created: os.IsNotExist(statErr)}
	if !rf.regular {
		return rf, nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (wait for that run to end, or choose another --out)", ErrLocked, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return rf, nil
}

// Regular reports whether the results file is a regular file (locked,
// with a sidecar).
func (rf *RunFile) Regular() bool { return rf.regular }

// Size is the file's size (0 for a non-regular file).
func (rf *RunFile) Size() (int64, error) {
	if !rf.regular {
		return 0, nil
	}
	fi, err := rf.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Sink appends result lines to the file, fsync'd one by one when it is a
// regular file.
func (rf *RunFile) Sink() *Sink {
	s := &Sink{w: rf.f}
	if rf.regular {
		s.sync = rf.f.Sync
	}
	return s
}

// ReadMeta reads the sidecar; (nil, nil) when there is none or the file is
// not regular.
func (rf *RunFile) ReadMeta() (*Meta, error) {
	if !rf.regular {
		return nil, nil
	}
	return ReadMeta(rf.Path)
}

// WriteMeta replaces the sidecar (mode 0600) while the file is locked.
func (rf *RunFile) WriteMeta(m *Meta) error {
	if !rf.regular {
		return fmt.Errorf("%s: %w: no sidecar beside it", rf.Path, ErrNotRegular)
	}
	return writeMetaFile(rf.Path, m)
}

// ReadResults reads the results already in the file (see ReadResults).
func (rf *RunFile) ReadResults() ([]Result, ReadInfo, error) {
	if !rf.regular {
		return nil, ReadInfo{}, fmt.Errorf("%s: %w", rf.Path, ErrNotRegular)
	}
	b, err := io.ReadAll(io.NewSectionReader(rf.f, 0, 1<<62))
	if err != nil {
		return nil, ReadInfo{}, err
	}
	return parseResults(rf.Path, b)
}

// RepairTail truncates an unterminated last line (left by a run killed
// mid-write) so that appending starts on a fresh line. It returns the
// number of bytes dropped.
func (rf *RunFile) RepairTail() (int, error) {
	if !rf.regular {
		return 0, fmt.Errorf("%s: %w", rf.Path, ErrNotRegular)
	}
	return repairTail(rf.f)
}

// Close releases the lock and closes the file. With discard, a file this
// run created and left empty is removed (a run refused before it started
// leaves nothing behind).
func (rf *RunFile) Close(discard bool) error {
	if discard && rf.created && rf.regular {
		if size, err := rf.Size(); err == nil && size == 0 {
			os.Remove(rf.Path)
		}
	}
	return rf.f.Close() // closing the descriptor releases the flock
}

// repairTail is RepairTail on an open file.
func repairTail(f *os.File) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, nil
	}
	// Read backwards in blocks until a newline is found.
	const block = 64 << 10
	end := size
	for end > 0 {
		start := max(end-block, 0)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return 0, err
		}
		if end == size && buf[len(buf)-1] == '\n' {
			return 0, nil
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			cut := start + int64(i) + 1
			if err := f.Truncate(cut); err != nil {
				return 0, err
			}
			return int(size - cut), f.Sync()
		}
		end = start
	}
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	return int(size), f.Sync()
}

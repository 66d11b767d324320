package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Meta is the run header, kept beside the results file as OUT.meta.json so
// that every line of OUT stays a result (tools such as jq need no filter).
// It is rewritten atomically (temporary file, fsync, rename) when a
// session starts; --resume appends a session and keeps the run id.
type Meta struct {
	Kind  string `json:"kind"` // "llemma-prove run"
	RunID string `json:"run_id"`
	// Verdict is the part of the configuration that decides verdicts
	// (backend, proposer, model, resolved budgets, split, axioms, versions):
	// --resume refuses to mix runs where it differs unless --force.
	Verdict map[string]string `json:"verdict_config"`
	// MergedFrom lists the run ids of merged inputs (merge only).
	MergedFrom []string  `json:"merged_from,omitempty"`
	Sessions   []Session `json:"sessions"`
}

// Session is one process that appended to the run.
type Session struct {
	ID          string            `json:"session_id"`
	Started     time.Time         `json:"started"`
	Host        string            `json:"host"`
	GitRevision string            `json:"git_revision"`
	Args        []string          `json:"args"`
	Config      map[string]any    `json:"config"` // every flag's effective value
	Versions    map[string]string `json:"versions"`
	Resumed     bool              `json:"resumed,omitempty"`
	Forced      bool              `json:"forced,omitempty"`
	Shard       string            `json:"shard,omitempty"`
	ShardSource string            `json:"shard_source,omitempty"`
	Split       string            `json:"split"`
	Attempts    int               `json:"attempts"`
	// Theorems lists the names this session was given (after --only,
	// --limit and the shard): merge reports the missing ones.
	Theorems []string `json:"theorems"`
}

const metaKind = "llemma-prove run"

// MetaPath is where the header of the results file out is kept.
func MetaPath(out string) string { return out + ".meta.json" }

// NewRunID returns a fresh run id.
func NewRunID() string { return uuid.NewString() }

// NewMeta starts the header of a new run.
func NewMeta(verdict map[string]string) *Meta {
	return &Meta{Kind: metaKind, RunID: NewRunID(), Verdict: verdict}
}

// ReadMeta reads OUT.meta.json; a missing file, or an out that is not a
// regular file, is (nil, nil).
func ReadMeta(out string) (*Meta, error) {
	if fi, err := os.Stat(out); err == nil && !fi.Mode().IsRegular() {
		return nil, nil
	}
	b, err := os.ReadFile(MetaPath(out))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", MetaPath(out), err)
	}
	return &m, nil
}

// WriteMeta replaces OUT.meta.json atomically, with mode 0600. out must be
// a regular file: nothing is written beside a device or a pipe. A run
// writes its sidecar through RunFile.WriteMeta, under the file's lock.
func WriteMeta(out string, m *Meta) error {
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: no sidecar beside it", out, ErrNotRegular)
	}
	return writeMetaFile(out, m)
}

func writeMetaFile(out string, m *Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(MetaPath(out), append(b, '\n'), 0o600)
}

// writeAtomic writes path with mode perm through a temporary file in its
// directory.
func writeAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// DiffVerdict lists the keys whose values differ, as "key a -> b", sorted.
func DiffVerdict(old, cur map[string]string) []string {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if old[k] != cur[k] {
			diffs = append(diffs, fmt.Sprintf("%s %q -> %q", k, old[k], cur[k]))
		}
	}
	sort.Strings(diffs)
	return diffs
}

// GitRevision is the revision the binary was built from (build info), else
// `git rev-parse HEAD` in the working directory, else "unknown". A
// modified tree gets "+dirty".
func GitRevision(ctx context.Context) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			return rev + dirty
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}

// ToolVersion runs `cmd --version` and returns its first line ("" when it
// cannot be run).
func ToolVersion(ctx context.Context, cmd string) string {
	if cmd == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cmd, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/model"
)

// defaultStdlib are the standard library's theory directories (under
// `coqc -where`/theories) whose proofs are about the arithmetic miniF2F
// needs.
const defaultStdlib = "Arith,NArith,PArith,ZArith,QArith,Reals,micromega,Lists,Bool"

func init() {
	register(&command{
		name:  "train",
		short: "build the k-NN proposer's model: replay Coq stdlib proofs and read search traces of the valid split",
		flags: func(fs *pflag.FlagSet) {
			fs.String("stdlib", defaultStdlib, "standard-library theory dirs to replay, comma-separated, relative to $(coqc -where)/theories or absolute; \"none\" for none")
			fs.StringSlice("traces", nil, "trace dirs of `minif2f --split valid --trace DIR` runs (their pairs: proof steps, and failed tactics with --negatives; valid split only)")
			fs.Bool("negatives", false, "also learn from the traces' failed tactics, which lower similar candidates (off: on held-out valid pairs they lowered the mean reciprocal rank of the right tactic, 0.46 to 0.43)")
			fs.String("out", model.DefaultKNNModel, "model file to write")
			fs.Int("max-files", 0, "replay at most this many .v files (0: all)")
			fs.String("timeout", "20s", "wall deadline of one replayed sentence")
			fs.String("file-timeout", "5m", "wall budget of one replayed file")
			fs.String("cache", "", "replay cache directory, so that an interrupted or repeated train skips files already replayed (default $XDG_CACHE_HOME/llemma-prove/replay)")
			fs.Int("workers", 0, "coqtop processes replaying at once (default: the number of CPUs)")
			fs.String("coq.coqtop", "coqtop", "coqtop command")
			fs.String("coq.coqc", "coqc", "coqc command (for -where and the version)")
			fs.String("coq.memory-limit", "4GiB", "address-space limit per coqtop")
		},
		run: runTrain,
	})
}

// replayCacheVersion changes when what the replay records changes.
const replayCacheVersion = "replay-1"

// replayRecord is one replayed file in the cache.
type replayRecord struct {
	Version string           `json:"version"`
	Path    string           `json:"path"`
	SHA256  string           `json:"sha256"`
	Coq     string           `json:"coq"`
	Stats   coq.ReplayStats  `json:"stats"`
	Steps   []coq.ReplayStep `json:"steps"`
	Error   string           `json:"error,omitempty"`
}

func runTrain(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("train takes no arguments (got %q)", strings.Join(args, " "))
	}
	start := time.Now()
	timeout, err := a.duration("timeout")
	if err != nil {
		return err
	}
	fileTimeout, err := a.duration("file-timeout")
	if err != nil {
		return err
	}
	maxFiles, err := a.intKey("max-files")
	if err != nil {
		return err
	}
	workers, err := a.intKey("workers")
	if err != nil {
		return err
	}
	if workers == 0 {
		workers = defaultWorkers()
	}
	mem, err := a.bytesKey("coq.memory-limit")
	if err != nil {
		return err
	}
	out := a.v.GetString("out")
	if out == "" {
		return usagef("--out is empty")
	}
	b := model.NewKNNBuilder()

	// (a) The standard library, replayed.
	if dirs := strings.TrimSpace(a.v.GetString("stdlib")); dirs != "" && dirs != "none" {
		coqc := a.v.GetString("coq.coqc")
		version := benchmarks.ToolVersion(ctx, coqc)
		b.SetCoq(version)
		cache, err := a.replayCache()
		if err != nil {
			return err
		}
		files, err := stdlibFiles(ctx, coqc, strings.Split(dirs, ","))
		if err != nil {
			return err
		}
		if maxFiles > 0 && len(files) > maxFiles {
			files = files[:maxFiles]
		}
		cfg := coq.ReplayConfig{
			Coqtop:          []string{a.v.GetString("coq.coqtop"), "-quiet", "-emacs"},
			MemoryLimit:     mem,
			SentenceTimeout: timeout,
			FileTimeout:     fileTimeout,
		}
		if err := a.replayStdlib(ctx, b, files, cfg, cache, version, workers); err != nil {
			return err
		}
	}

	// (b) The project's own search traces, valid split only.
	for _, dir := range a.v.GetStringSlice("traces") {
		if err := addTraces(b, dir, a.v.GetBool("negatives"), a.say); err != nil {
			return err
		}
	}
	c := b.Counts()
	if c.Examples == 0 {
		return fmt.Errorf("train: no training pairs (give --stdlib dirs or --traces)")
	}
	b.SetTraining(time.Since(start))
	if err := b.WriteFile(out); err != nil {
		return err
	}
	m, err := model.LoadKNN(out)
	if err != nil {
		return fmt.Errorf("train: the written model does not load: %w", err)
	}
	info := m.Info()
	a.say("train: wrote %s (%.1f MiB, %s): %d examples over %d states from %d progress + %d failed steps (%d dropped), in %s",
		out, float64(info.Bytes)/(1<<20), m.Version(), c.Examples, c.States, c.Positive, c.Negative, c.Dropped, time.Since(start).Round(time.Second))
	for _, s := range info.Header.Sources {
		a.say("  %-6s %s: %d pairs", s.Kind, s.Path, s.Pairs)
	}
	return nil
}

// stdFile is one .v file to replay, under the dir it was listed from.
type stdFile struct {
	dir, path, rel string
}

// stdlibFiles lists the .v files under dirs, sorted within each dir.
func stdlibFiles(ctx context.Context, coqc string, dirs []string) ([]stdFile, error) {
	where := ""
	var files []stdFile
	for _, d := range dirs {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		path := d
		if !filepath.IsAbs(d) {
			if where == "" {
				res, err := proc.Run(ctx, proc.Spec{Argv: []string{coqc, "-where"}, InstallHint: "install it with: apt-get install -y coq"}, 30*time.Second)
				if err != nil {
					return nil, fmt.Errorf("--stdlib %s: running %s -where: %w", d, coqc, err)
				}
				where = strings.TrimSpace(string(res.Stdout))
			}
			path = filepath.Join(where, "theories", d)
		}
		var list []stdFile
		err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(p, ".v") {
				rel, _ := filepath.Rel(filepath.Dir(path), p)
				list = append(list, stdFile{dir: d, path: p, rel: rel})
			}
			return nil
		})
		if err != nil {
			return nil, usagef("--stdlib %s: %v", d, err)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].path < list[j].path })
		files = append(files, list...)
	}
	return files, nil
}

// replayCache is the cache directory, created.
func (a *app) replayCache() (string, error) {
	dir := a.v.GetString("cache")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "llemma-prove", "replay")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--cache %s: %w", dir, err)
	}
	return dir, nil
}

// replayStdlib replays files (or reads them from the cache) and adds their
// progress steps to b, one source per stdlib dir.
func (a *app) replayStdlib(ctx context.Context, b *model.KNNBuilder, files []stdFile, cfg coq.ReplayConfig, cache, version string, workers int) error {
	records := make([]*replayRecord, len(files))
	hashes := make([]string, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	var mu sync.Mutex
	done, cached := 0, 0
	for i, f := range files {
		g.Go(func() error {
			src, err := os.ReadFile(f.path)
			if err != nil {
				return fmt.Errorf("reading %s: %w", f.path, err)
			}
			sum := sha256.Sum256(src)
			hashes[i] = hex.EncodeToString(sum[:])
			key := sha256.Sum256([]byte(replayCacheVersion + "\x00" + version + "\x00" + hashes[i]))
			cpath := filepath.Join(cache, hex.EncodeToString(key[:])+".json.gz")
			rec, hit := readReplayRecord(cpath)
			if !hit {
				st, err := coq.Replay(gctx, cfg, string(src), func(s coq.ReplayStep) error {
					if rec == nil {
						rec = &replayRecord{}
					}
					rec.Steps = append(rec.Steps, s)
					return nil
				})
				if gctx.Err() != nil {
					return context.Cause(gctx)
				}
				if rec == nil {
					rec = &replayRecord{}
				}
				rec.Version, rec.Path, rec.SHA256, rec.Coq, rec.Stats = replayCacheVersion, f.rel, hashes[i], version, st
				if err != nil {
					rec.Error = err.Error()
				}
				if err := writeReplayRecord(cpath, rec); err != nil {
					return err
				}
			}
			records[i] = rec
			mu.Lock()
			done++
			if hit {
				cached++
			}
			note := ""
			switch {
			case hit:
				note = " (cached)"
			case rec.Error != "":
				note = " error: " + rec.Error
			case rec.Stats.Stopped != "":
				note = " stopped: " + rec.Stats.Stopped
			}
			a.say("[%d/%d] %s: %d steps, %d with progress, %s%s", done, len(files), f.rel, rec.Stats.Steps, rec.Stats.Progress, rec.Stats.Elapsed.Round(100*time.Millisecond), note)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// One source per dir, hashed over its files' hashes.
	srcOf := map[string]int{}
	perDir := map[string][]string{}
	for i, f := range files {
		perDir[f.dir] = append(perDir[f.dir], f.rel+" "+hashes[i])
	}
	for _, f := range files {
		if _, ok := srcOf[f.dir]; ok {
			continue
		}
		lines := perDir[f.dir]
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		srcOf[f.dir] = b.AddSource(model.KNNSource{Kind: "stdlib", Path: f.dir, SHA256: hex.EncodeToString(sum[:]), Files: len(lines)})
	}
	for i, rec := range records {
		local := localTactics(rec.Stats.Ltacs)
		for _, s := range rec.Steps {
			if s.Outcome != coq.ReplayProgress || local(s.Tactic) {
				continue
			}
			b.Add(srcOf[files[i].dir], s.Goals, s.Tactic, true, s.Elapsed)
		}
	}
	a.say("train: %d stdlib files (%d from the cache %s)", len(files), cached, cache)
	return nil
}

var tacIdentRE = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_']*`)

// localTactics reports whether a tactic uses one of the file's own Ltac
// definitions, which mean nothing elsewhere.
func localTactics(names []string) func(string) bool {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return func(t string) bool {
		if len(set) == 0 {
			return false
		}
		for _, id := range tacIdentRE.FindAllString(t, -1) {
			if set[id] {
				return true
			}
		}
		return false
	}
}

func readReplayRecord(path string) (*replayRecord, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, false
	}
	var rec replayRecord
	if err := json.NewDecoder(zr).Decode(&rec); err != nil || rec.Version != replayCacheVersion {
		return nil, false
	}
	return &rec, true
}

// writeReplayRecord writes a cache entry atomically: a killed train leaves
// no torn entry behind.
func writeReplayRecord(path string, rec *replayRecord) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(rec); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the replay cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the replay cache: %w", err)
	}
	return nil
}

// errTestSplit: a trace holds pairs of a split other than valid.
var errTestSplit = errors.New("train: traces must come from the valid split only (the test split is never read for training)")

// addTraces reads the pairs of a --trace DIR (benchmarks.ReadPairs: both
// layouts): the proofs' steps as positives and, with negatives, the
// tactics that failed or timed out. A pair of any split but valid is
// refused.
func addTraces(b *model.KNNBuilder, dir string, negatives bool, say func(string, ...any)) error {
	set, err := benchmarks.ReadPairs(dir)
	if err != nil {
		return fmt.Errorf("--traces %s: %w", dir, err)
	}
	if len(set.Files) == 0 {
		return fmt.Errorf("--traces %s: no pairs or search trees there (a minif2f --trace directory)", dir)
	}
	src := b.AddSource(model.KNNSource{Kind: "trace", Path: dir, SHA256: set.SHA256})
	n, kept, neg := 0, 0, 0
	for _, p := range set.Pairs {
		if p.Split != "valid" {
			return fmt.Errorf("%w: %s has a pair of %s (split %q)", errTestSplit, dir, p.Name, p.Split)
		}
		if p.Backend != "" && p.Backend != "coq" {
			continue
		}
		switch {
		case !p.Negative:
			n++
			if b.Add(src, strings.Split(p.State, "\n\n"), p.Tactic, true, 0) {
				kept++
			}
		case negatives && (p.Outcome == "failed" || p.Outcome == "timeout"):
			if b.Add(src, strings.Split(p.State, "\n\n"), p.Tactic, false, p.Elapsed) {
				neg++
			}
		}
	}
	say("train: %s: %d of %d proof pairs kept, %d failed tactics", dir, kept, n, neg)
	return nil
}

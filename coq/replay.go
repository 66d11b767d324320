package coq

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ReplayConfig configures Replay. Zero fields take the defaults.
type ReplayConfig struct {
	Coqtop []string // command for one coqtop (default coqtop -quiet -emacs)
	// MemoryLimit is the process's address-space limit in bytes (default 4 GiB).
	MemoryLimit int64
	// SentenceTimeout is the wall deadline of one sentence (default 20 s);
	// past it the process is killed, restarted, and the file goes on after
	// the proof that was running (see Replay).
	SentenceTimeout time.Duration
	// FileTimeout bounds the whole file (default 10 min); the steps
	// recorded until then are kept.
	FileTimeout time.Duration
	// MaxSteps stops the file after this many recorded steps (0: no limit).
	MaxSteps int
	// MaxRestarts bounds process restarts within one file (default 3).
	MaxRestarts int
	Env         []string // extra environment for coqtop
}

func (c *ReplayConfig) defaults() {
	if len(c.Coqtop) == 0 {
		c.Coqtop = []string{"coqtop", "-quiet", "-emacs"}
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 4 << 30
	}
	if c.SentenceTimeout <= 0 {
		c.SentenceTimeout = 20 * time.Second
	}
	if c.FileTimeout <= 0 {
		c.FileTimeout = 10 * time.Minute
	}
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = 3
	}
}

// ReplayOutcome classifies one replayed tactic sentence.
type ReplayOutcome string

const (
	// ReplayProgress: the tactic succeeded and the goals changed (or closed).
	ReplayProgress ReplayOutcome = "progress"
	// ReplayNoProgress: the tactic succeeded but the goal display is the same.
	ReplayNoProgress ReplayOutcome = "no-progress"
	// ReplayFailed: coqtop answered with an error.
	ReplayFailed ReplayOutcome = "failed"
	// ReplayTimeout: the sentence outlived its deadline and was killed.
	ReplayTimeout ReplayOutcome = "timeout"
)

// ReplayStep is one tactic sentence replayed inside a proof, with the proof
// state coqtop showed before it.
type ReplayStep struct {
	Lemma string // the proof being edited, as coqtop's prompt names it
	// Goals is the state before the tactic as a Session shows it: goal 1
	// with its hypotheses, then the conclusions of the other goals
	// (canonical: no "(ID n)", dedented).
	Goals   []string
	Tactic  string // the sentence, policy-normalised, white space collapsed
	Outcome ReplayOutcome
	Message string // coqtop's error, for a failure
	Elapsed time.Duration
}

// ReplayStats summarises one replayed file.
type ReplayStats struct {
	Sentences int // sentences sent
	Tactics   int // tactic sentences inside proofs (recorded or not)
	Steps     int // steps emitted
	Progress  int // steps with outcome progress
	Failed    int // sentences coqtop refused (any kind)
	Skipped   int // sentences not sent (the rest of a broken or killed proof)
	Restarts  int
	// Ltacs lists the tactic names the file defines (Ltac, Tactic
	// Notation): tactics using them mean nothing outside the file.
	Ltacs []string
	// Stopped says why the file ended early ("" when it ran to the end):
	// the file budget, MaxSteps, or too many restarts.
	Stopped string
	Elapsed time.Duration
}

// ErrReplaySource: the file does not split into sentences (an open comment
// or string); nothing was sent.
var ErrReplaySource = errors.New("coq replay: the file does not split into sentences")

var (
	proofEndRE = regexp.MustCompile(`^(?:Qed|Defined|Admitted|Save|Abort)\b`)
	ltacDefRE  = regexp.MustCompile(`^(?:(?:Local|Global|#\[[^\]]*\])\s+)?(?:Ltac\s+([\p{L}_][\p{L}\p{N}_']*)|Tactic\s+Notation(?:\s*\([^)]*\))?\s+"([^"]+)")`)
	spacesRE   = regexp.MustCompile(`\s+`)
)

// Replay runs src (a .v file's text) through a fresh coqtop sentence by
// sentence and calls emit for every tactic sentence inside a proof that
// the Coq tactic policy accepts, with the goals before it (from `Show.`)
// and what it did. Other sentences (commands, bullets, braces) are sent
// but not recorded.
//
// Failures are data: a refused command is skipped; after a refused tactic
// the rest of that proof is skipped and it is closed with `Admitted.`, so
// later lemmas can still use its name. A sentence past its deadline kills
// the process; Replay then starts a new one, replays the file's commands
// so far (proofs replaced by `Admitted.`) and goes on after the proof that
// was running, at most MaxRestarts times. emit returning an error stops
// the file with that error. The error is nil when the file ran (even in
// part); the stats say how far.
func Replay(ctx context.Context, cfg ReplayConfig, src string, emit func(ReplayStep) error) (ReplayStats, error) {
	cfg.defaults()
	start := time.Now()
	sentences, rest, err := SplitSentences(src)
	if err != nil {
		return ReplayStats{}, fmt.Errorf("%w: %v", ErrReplaySource, err)
	}
	if rest = strings.TrimSpace(stripComments(rest)); rest != "" {
		sentences = append(sentences, rest+".")
	}
	fctx, cancel := context.WithTimeoutCause(ctx, cfg.FileTimeout, errFileBudget)
	defer cancel()
	r := &replayer{cfg: cfg, emit: emit}
	defer r.close()
	err = r.run(fctx, sentences)
	r.stats.Elapsed = time.Since(start)
	switch {
	case ctx.Err() != nil:
		return r.stats, context.Cause(ctx)
	case errors.Is(err, errFileBudget):
		r.stats.Stopped = "file budget"
	case errors.Is(err, errMaxSteps):
		r.stats.Stopped = "step limit"
	case errors.Is(err, errStop):
	default:
		return r.stats, err
	}
	return r.stats, nil
}

var (
	errFileBudget   = errors.New("coq replay: file budget spent")
	errMaxSteps     = errors.New("coq replay: step limit")
	errTooManyKills = errors.New("coq replay: too many restarts")
)

type replayer struct {
	cfg   ReplayConfig
	emit  func(ReplayStep) error
	p     *coqtop
	stats ReplayStats
	// history holds the commands sent outside proofs, with each finished
	// proof reduced to `Admitted.`: what a new process replays after a kill.
	history []string
	name    string // the prompt's NAME after the last sentence
	// before caches the goals shown before the next tactic (valid until a
	// sentence other than a recorded tactic runs).
	before *goals
}

func (r *replayer) close() {
	if r.p != nil {
		r.p.kill()
		r.p = nil
	}
}

func (r *replayer) start(ctx context.Context) error {
	p, first, err := startCoqtop(ctx, r.cfg.Coqtop, r.cfg.MemoryLimit, r.cfg.Env)
	if err != nil {
		return err
	}
	r.p, r.name = p, first.Name
	for _, s := range []string{"Set Silent.", "Set Printing Width 1000."} {
		if _, err := r.send(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// send writes one sentence under the sentence deadline.
func (r *replayer) send(ctx context.Context, s string) (reply, error) {
	rep, err := r.p.send(ctx, s, r.cfg.SentenceTimeout)
	if err != nil {
		return reply{}, err
	}
	r.name = rep.Name
	return rep, nil
}

func inProof(name string) bool { return name != "" && name != "Coq" }

func (r *replayer) run(ctx context.Context, sentences []string) error {
	if err := r.start(ctx); err != nil {
		return fmt.Errorf("starting coqtop for replay: %w", err)
	}
	broken := false // inside a proof whose rest is skipped
	for _, raw := range sentences {
		s := strings.TrimSpace(stripComments(raw))
		if s == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if m := ltacDefRE.FindStringSubmatch(s); m != nil {
			r.stats.Ltacs = append(r.stats.Ltacs, m[1]+m[2])
		}
		ending := proofEndRE.MatchString(s)
		if broken {
			if !ending {
				r.stats.Skipped++
				continue
			}
			broken = false
			if err := r.closeProof(ctx); err != nil {
				if err := r.recover(ctx, err); err != nil {
					return err
				}
			}
			continue
		}
		if inProof(r.name) {
			if tac, err := (Policy{}).Check(s); err == nil && !ending {
				ok, err := r.tactic(ctx, tac)
				if err != nil {
					if !isKill(err) {
						return err
					}
					if err := r.recover(ctx, err); err != nil {
						return err
					}
					broken = inProof(r.name)
					continue
				}
				if !ok {
					broken = true
				}
				continue
			}
		}
		r.before = nil
		wasProof := inProof(r.name)
		r.stats.Sentences++
		rep, err := r.send(ctx, s)
		if err != nil {
			if err := r.recover(ctx, err); err != nil {
				return err
			}
			// The killed sentence is dropped; inside a proof, skip to its end.
			broken = inProof(r.name)
			continue
		}
		failed := hasError(rep.Text)
		if failed {
			r.stats.Failed++
		}
		switch {
		case !wasProof && !failed:
			r.history = append(r.history, s)
		case wasProof && ending && inProof(rep.Name):
			// Qed refused (an incomplete proof): give it up as admitted.
			if err := r.closeProof(ctx); err != nil {
				if err := r.recover(ctx, err); err != nil {
					return err
				}
			}
		case wasProof && ending && strings.HasPrefix(s, "Abort"):
			r.history = append(r.history, s)
		case wasProof && ending:
			r.history = append(r.history, "Admitted.")
		case wasProof && failed:
			broken = true
		}
	}
	return nil
}

// tactic replays one policy-checked tactic sentence and emits its step. ok
// is false when coqtop refused it (the proof is broken from here).
func (r *replayer) tactic(ctx context.Context, tac string) (ok bool, err error) {
	r.stats.Tactics++
	r.stats.Sentences++
	if r.before == nil {
		g, proved, okShow, err := r.show(ctx)
		if err != nil {
			return false, err
		}
		if okShow && !proved {
			r.before = &g
		}
	}
	before := r.before
	r.before = nil
	lemma := r.name
	t0 := time.Now()
	rep, err := r.send(ctx, tac)
	elapsed := time.Since(t0)
	if err != nil {
		if isKill(err) && before != nil {
			if eerr := r.record(ReplayStep{Lemma: lemma, Goals: before.key(), Tactic: normTactic(tac), Outcome: ReplayTimeout, Elapsed: elapsed}); eerr != nil {
				return false, eerr
			}
		}
		return false, err
	}
	if hasError(rep.Text) || !inProof(rep.Name) {
		r.stats.Failed++
		if before != nil {
			if err := r.record(ReplayStep{Lemma: lemma, Goals: before.key(), Tactic: normTactic(tac), Outcome: ReplayFailed, Message: clip(errText(rep.Text), 300), Elapsed: elapsed}); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	after, proved, okShow, err := r.show(ctx)
	if err != nil {
		return true, err
	}
	if okShow && !proved {
		r.before = &after
	}
	if before == nil {
		return true, nil
	}
	outcome := ReplayProgress
	if okShow && !proved && after.Text == before.Text {
		outcome = ReplayNoProgress
	}
	return true, r.record(ReplayStep{Lemma: lemma, Goals: before.key(), Tactic: normTactic(tac), Outcome: outcome, Elapsed: elapsed})
}

func (r *replayer) record(st ReplayStep) error {
	r.stats.Steps++
	if st.Outcome == ReplayProgress {
		r.stats.Progress++
	}
	if r.emit != nil {
		if err := r.emit(st); err != nil {
			return err
		}
	}
	if r.cfg.MaxSteps > 0 && r.stats.Steps >= r.cfg.MaxSteps {
		return errMaxSteps
	}
	return nil
}

// show asks for the goals; ok is false for anything but a plain display.
func (r *replayer) show(ctx context.Context) (g goals, proved, ok bool, err error) {
	rep, err := r.send(ctx, "Show.")
	if err != nil {
		return goals{}, false, false, err
	}
	g, proved, ok = parseShow(rep.Text)
	return g, proved, ok, nil
}

// closeProof ends the open proof with Admitted. (Abort. if that fails).
func (r *replayer) closeProof(ctx context.Context) error {
	r.before = nil
	for _, s := range []string{"Admitted.", "Abort."} {
		rep, err := r.send(ctx, s)
		if err != nil {
			return err
		}
		if !inProof(rep.Name) {
			r.history = append(r.history, s)
			return nil
		}
	}
	return nil
}

// recover handles a failed exchange: a kill (deadline, death) restarts the
// process and replays the history; a file budget or cancellation ends the
// file; a step limit ends it quietly.
func (r *replayer) recover(ctx context.Context, err error) error {
	if errors.Is(err, errMaxSteps) {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if !isKill(err) {
		return err
	}
	if r.stats.Restarts >= r.cfg.MaxRestarts {
		r.stats.Stopped = "too many restarts"
		return errStop
	}
	r.stats.Restarts++
	r.close()
	r.before = nil
	if err := r.start(ctx); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("restarting coqtop for replay: %w", err)
	}
	for _, s := range r.history {
		if _, err := r.send(ctx, s); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			r.stats.Stopped = "history replay failed after a restart"
			return errStop
		}
	}
	return nil
}

// errStop ends a file without an error for the caller.
var errStop = errors.New("coq replay: stopped")

func isKill(err error) bool {
	var ee *prover.ExitError
	return errors.Is(err, errDeadline) || errors.As(err, &ee) || errors.Is(err, prover.ErrProcessDied)
}

// normTactic collapses white space so that one tactic has one spelling.
func normTactic(s string) string { return strings.TrimSpace(spacesRE.ReplaceAllString(s, " ")) }

// stripComments removes (nested) comments outside strings.
func stripComments(s string) string {
	if !strings.Contains(s, "(*") {
		return s
	}
	var b strings.Builder
	depth, inString := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth == 0 && inString:
			b.WriteByte(c)
			if c == '"' {
				inString = false
			}
		case depth == 0 && c == '"':
			inString = true
			b.WriteByte(c)
		case strings.HasPrefix(s[i:], "(*"):
			depth++
			i++
		case depth > 0 && strings.HasPrefix(s[i:], "*)"):
			depth--
			i++
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

package prover

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// modeFakeBackend is a backend for the modes. Its verifier is the only
// judge: a file is verified when every line of the proof is "ok" or
// "fix", no line is a hole ("?G"), and no line is "cheat" (which a real
// verifier refuses as an axiom of the file's own). Holes "?G" are found by
// Holes; a hole session's root is goal G, the tactic "close G." closes it.
type modeFakeBackend struct {
	mu       sync.Mutex
	verified []string // every file judged, in order
	opened   []string // the hole goals opened
	failOpen map[string]error
}

func (b *modeFakeBackend) Name() string { return "fake" }
func (b *modeFakeBackend) Open(context.Context, Theorem) (Session, error) {
	return nil, errors.New("no step sessions here")
}
func (b *modeFakeBackend) Policy() Policy { return testPolicy{} }
func (b *modeFakeBackend) Close() error   { return nil }

func (b *modeFakeBackend) Assemble(thm Theorem, proof []string) string {
	return thm.Statement + "\nProof.\n" + strings.Join(proof, "\n") + "\nQed.\n"
}

func (b *modeFakeBackend) Verify(ctx context.Context, req VerifyRequest) (Verification, error) {
	b.mu.Lock()
	b.verified = append(b.verified, req.Solution)
	b.mu.Unlock()
	if req.Challenge == nil || !strings.HasPrefix(req.Solution, req.Challenge.Statement+"\n") {
		return Verification{Message: "Error: not the challenge's statement"}, nil
	}
	for i, l := range strings.Split(req.Solution, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "cheat":
			return Verification{Message: "Error: an axiom of the file's own", Disallowed: []string{"cheat"}}, nil
		case strings.HasPrefix(l, "?"):
			return Verification{Message: fmt.Sprintf("File \"x.v\", line %d:\nError: hole %s left", i+1, l)}, nil
		case l == "bad":
			return Verification{Message: fmt.Sprintf("File \"x.v\", line %d, characters 0-3:\nError: bad tactic\nError: more", i+1)}, nil
		}
	}
	return Verification{Verified: true}, nil
}

var fakeHoleRE = regexp.MustCompile(`\?(\w+)`)

func (b *modeFakeBackend) Holes(src string) ([]Hole, error) {
	if strings.Contains(src, "unparsable") {
		return nil, errors.New("does not parse")
	}
	var out []Hole
	for i, m := range fakeHoleRE.FindAllStringSubmatchIndex(src, -1) {
		out = append(out, Hole{Index: i, Kind: "sorry", Theorem: "t", Statement: src[m[2]:m[3]], Start: m[0], End: m[1], Line: 1 + strings.Count(src[:m[0]], "\n")})
	}
	return out, nil
}

func (b *modeFakeBackend) OpenHole(ctx context.Context, src string, h Hole) (Session, error) {
	b.mu.Lock()
	b.opened = append(b.opened, h.Statement)
	err := b.failOpen[h.Statement]
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &holeFakeSession{goal: h.Statement}, nil
}

func (b *modeFakeBackend) FillHoles(src string, holes []Hole, fills map[int][]string) (string, error) {
	var sb strings.Builder
	last := 0
	for _, h := range holes {
		if tacs, ok := fills[h.Index]; ok {
			sb.WriteString(src[last:h.Start])
			sb.WriteString(strings.Join(tacs, " "))
			last = h.End
		}
	}
	sb.WriteString(src[last:])
	// A filled hole reads "ok" to the fake verifier.
	return regexp.MustCompile(`(?m)^close \w+\.$`).ReplaceAllString(sb.String(), "ok"), nil
}

var _ HoleBackend = (*modeFakeBackend)(nil)

type holeFakeSession struct{ goal string }

func (s *holeFakeSession) Root() State  { return State{ID: 0, Goals: []string{s.goal}} }
func (s *holeFakeSession) Close() error { return nil }
func (s *holeFakeSession) Apply(ctx context.Context, from StateID, tactic string, _ time.Duration) (StepResult, error) {
	if tactic == "close "+s.goal+"." {
		return StepResult{Status: StepProved}, nil
	}
	return StepResult{Status: StepFailed, Message: "no"}, nil
}

// closeProposer proposes "close G." for the goals it knows, "wrong." always.
type closeProposer struct{ knows map[string]bool }

func (closeProposer) Name() string { return "closer" }
func (p closeProposer) Propose(ctx context.Context, req ProposalRequest) ([]Candidate, error) {
	out := []Candidate{{Tactic: "wrong", Score: -1}}
	if g := req.State.Goals[0]; p.knows[g] {
		out = append(out, Candidate{Tactic: "close " + g, Score: -2})
	}
	return out, nil
}

// scriptWriter answers the k-th request with texts[k] (the last one again
// past the end) and records the requests.
type scriptWriter struct {
	mu    sync.Mutex
	texts []string
	reqs  []ProofRequest
	err   error
}

func (w *scriptWriter) Name() string { return "script" }
func (w *scriptWriter) WriteProof(ctx context.Context, req ProofRequest) (ProofText, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, req)
	if w.err != nil {
		return ProofText{}, w.err
	}
	return ProofText{Text: w.texts[min(len(w.reqs)-1, len(w.texts)-1)]}, nil
}

func TestWholeProof(t *testing.T) {
	t.Parallel()
	thm := Theorem{Name: "t", Statement: "Theorem t : T."}
	cases := []struct {
		name    string
		texts   []string
		rounds  int
		want    Status
		judged  int // files the verifier saw
		records int
	}{
		{"right", []string{"ok\nok"}, 0, StatusProved, 1, 1},
		{"wrong", []string{"ok\nbad"}, 0, StatusFailed, 1, 1},
		{"wrong, no repair allowed", []string{"bad", "ok"}, 0, StatusFailed, 1, 1},
		{"cheating", []string{"cheat"}, 2, StatusFailed, 3, 3},
		{"repaired in round 2", []string{"ok\nbad", "bad\nok", "fix\nok"}, 2, StatusProved, 3, 3},
		{"still wrong after the repairs", []string{"bad"}, 1, StatusFailed, 2, 2},
		{"a hole is no proof", []string{"?G"}, 0, StatusFailed, 1, 1},
		{"refused text is not judged", []string{"\x00", "ok"}, 1, StatusProved, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := &modeFakeBackend{}
			w := &scriptWriter{texts: c.texts}
			log := &SampleLog{}
			wp := &WholeProof{Backend: b, Writer: w, RepairRounds: c.rounds}
			out := wp.Prove(WithSampleLog(context.Background(), log), thm)
			if out.Status != c.want {
				t.Fatalf("status %s (%s), want %s", out.Status, out.Message(), c.want)
			}
			if len(b.verified) != c.judged {
				t.Errorf("verifier saw %d files, want %d", len(b.verified), c.judged)
			}
			recs := log.Records()
			if len(recs) != c.records {
				t.Fatalf("%d sample records, want %d: %+v", len(recs), c.records, recs)
			}
			for i, r := range recs {
				if r.Round != i {
					t.Errorf("record %d has round %d", i, r.Round)
				}
			}
			if out.Status == StatusProved {
				// Proved only with the verifier's yes on the very file
				// reported.
				if !recs[len(recs)-1].Verified || out.FileText != b.verified[len(b.verified)-1] || out.Verification == nil || !out.Verification.Verified {
					t.Errorf("proved without the verifier's yes on its file: %+v", out)
				}
			} else if out.FileText != "" {
				t.Errorf("an unproved outcome carries a file")
			}
			// Each repair carries the failed attempt and the first error.
			for i, r := range w.reqs {
				if r.Round != i || r.Kind != KindProof {
					t.Errorf("request %d: round %d kind %s", i, r.Round, r.Kind)
				}
				if i > 0 && (r.Previous != c.texts[min(i-1, len(c.texts)-1)] || r.Error == "") {
					t.Errorf("repair %d: previous %q error %q", i, r.Previous, r.Error)
				}
			}
		})
	}
}

// The repair prompt gets the first error, with its location, not the rest.
func TestWholeProofRepairSeesFirstError(t *testing.T) {
	t.Parallel()
	w := &scriptWriter{texts: []string{"ok\nbad", "ok"}}
	wp := &WholeProof{Backend: &modeFakeBackend{}, Writer: w, RepairRounds: 1}
	out := wp.Prove(context.Background(), Theorem{Name: "t", Statement: "S."})
	if out.Status != StatusProved {
		t.Fatalf("status %s: %s", out.Status, out.Message())
	}
	got := w.reqs[1].Error
	if !strings.Contains(got, "line 4") || !strings.Contains(got, "bad tactic") || strings.Contains(got, "more") {
		t.Errorf("repair error %q: want the location and the first error only", got)
	}
}

func TestWholeProofEnds(t *testing.T) {
	t.Parallel()
	thm := Theorem{Name: "t", Statement: "S."}
	t.Run("model error", func(t *testing.T) {
		t.Parallel()
		out := (&WholeProof{Backend: &modeFakeBackend{}, Writer: &scriptWriter{err: errors.New("boom")}}).Prove(context.Background(), thm)
		if out.Status != StatusError || CauseOf(out.Err) != CauseModel {
			t.Errorf("status %s cause %s", out.Status, CauseOf(out.Err))
		}
	})
	t.Run("budget", func(t *testing.T) {
		t.Parallel()
		w := blockingWriter{}
		out := (&WholeProof{Backend: &modeFakeBackend{}, Writer: w, TheoremTimeout: time.Millisecond}).Prove(context.Background(), thm)
		if out.Status != StatusTimeout {
			t.Errorf("status %s: %s", out.Status, out.Message())
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out := (&WholeProof{Backend: &modeFakeBackend{}, Writer: blockingWriter{}}).Prove(ctx, thm)
		if out.Status != StatusInterrupted {
			t.Errorf("status %s", out.Status)
		}
	})
}

// blockingWriter waits for its ctx.
type blockingWriter struct{}

func (blockingWriter) Name() string { return "blocking" }
func (blockingWriter) WriteProof(ctx context.Context, req ProofRequest) (ProofText, error) {
	<-ctx.Done()
	return ProofText{}, context.Cause(ctx)
}

func TestSketch(t *testing.T) {
	t.Parallel()
	thm := Theorem{Name: "t", Statement: "Theorem t : T."}
	knows := map[string]bool{"A": true, "B": true}
	cases := []struct {
		name   string
		sketch string
		want   Status
		closed int
		holes  int
	}{
		{"every hole closed", "ok\n?A\nok\n?B", StatusProved, 2, 2},
		{"one hole stays open", "?A\n?C\n?B", StatusFailed, 2, 3},
		{"no holes, a complete proof", "ok", StatusProved, 0, 0},
		{"holes closed but the rest cheats", "?A\ncheat", StatusFailed, 1, 1},
		{"unparsable", "unparsable", StatusFailed, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := &modeFakeBackend{}
			w := &scriptWriter{texts: []string{c.sketch}}
			log := &SampleLog{}
			var streamed []HoleResult
			s := &Sketch{
				Backend: b, Writer: w,
				Informal: func(thm Theorem) (Informal, bool) { return Informal{Statement: "Show T.", Proof: "Obvious."}, true },
				Filler: HoleFiller{Proposer: closeProposer{knows}, Search: search.Config{Expansions: 5, Samples: 4},
					OnHole: func(r HoleResult) { streamed = append(streamed, r) }},
			}
			out := s.Prove(WithSampleLog(context.Background(), log), thm)
			if out.Status != c.want {
				t.Fatalf("status %s (%s), want %s", out.Status, out.Message(), c.want)
			}
			if w.reqs[0].Kind != KindSketch || w.reqs[0].Informal == nil || w.reqs[0].Informal.Proof != "Obvious." {
				t.Errorf("sketch request %+v", w.reqs[0])
			}
			recs := log.Records()
			if len(recs) != 1 || recs[0].Holes != c.holes || recs[0].Closed != c.closed {
				t.Errorf("records %+v, want one with %d/%d holes closed", recs, c.closed, c.holes)
			}
			if len(streamed) != c.holes {
				t.Errorf("streamed %d hole results, want %d", len(streamed), c.holes)
			}
			if out.Status == StatusProved && (len(b.verified) == 0 || out.FileText != b.verified[len(b.verified)-1] || !recs[0].Verified) {
				t.Errorf("proved without the verifier's yes on its file")
			}
			if c.closed < c.holes && len(b.verified) != 0 {
				t.Errorf("a sketch with open holes went to the verifier")
			}
		})
	}
}

func TestSketchFrom(t *testing.T) {
	t.Parallel()
	b := &modeFakeBackend{}
	s := &Sketch{Backend: b, Sketches: func(thm Theorem) (string, bool) { return "?A", thm.Name == "given" },
		Filler: HoleFiller{Proposer: closeProposer{map[string]bool{"A": true}}, Search: search.Config{Expansions: 2}}}
	if out := s.Prove(context.Background(), Theorem{Name: "given", Statement: "S."}); out.Status != StatusProved {
		t.Errorf("given sketch: %s %s", out.Status, out.Message())
	}
	// No sketch and no writer: an error (no verdict on the theorem).
	out := s.Prove(context.Background(), Theorem{Name: "other", Statement: "S."})
	if out.Status != StatusError || !errors.Is(out.Err, ErrNoSketch) {
		t.Errorf("missing sketch: %s %v", out.Status, out.Err)
	}
}

func TestHoleFillerBackendFailures(t *testing.T) {
	t.Parallel()
	b := &modeFakeBackend{failOpen: map[string]error{
		"L": fmt.Errorf("wrapped: %w", ErrLoad),
		"D": fmt.Errorf("wrapped: %w", ErrHoleDone),
		"X": errors.New("the machinery broke"),
	}}
	f := HoleFiller{Backend: b, Proposer: closeProposer{map[string]bool{"A": true}}, Search: search.Config{Expansions: 2}, Concurrency: 3}
	res, err := f.Fill(context.Background(), "?A ?L ?D ?X")
	if err != nil {
		t.Fatal(err)
	}
	want := []HoleStatus{HoleClosed, HoleOpen, HoleClosed, HoleError}
	for i, h := range res.Holes {
		if h.Status != want[i] {
			t.Errorf("hole %d: %s, want %s", i, h.Status, want[i])
		}
	}
	if !errors.Is(res.Holes[3].Err, ErrBackend) {
		t.Errorf("machinery failure not staged as backend: %v", res.Holes[3].Err)
	}
	if res.Closed != 2 || res.AllClosed() {
		t.Errorf("closed %d", res.Closed)
	}
	if _, err := (&HoleFiller{Backend: &agentFakeBackend{}}).Fill(context.Background(), "?A"); !errors.Is(err, ErrNoHoles) {
		t.Errorf("a backend without holes: %v", err)
	}
}

func TestFirstError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"File \"a.v\", line 3, characters 2-5:\nError: The term x\nhas type nat\nError: second", "File \"a.v\", line 3, characters 2-5:\nError: The term x\nhas type nat"},
		{"no error here", "no error here"},
		{"", ""},
	} {
		if got := FirstError(c.in); got != c.want {
			t.Errorf("FirstError(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := "Error: " + strings.Repeat("é", 3000)
	if got := FirstError(long); len(got) > 2000+len("…") {
		t.Errorf("FirstError kept %d bytes", len(got))
	}
}

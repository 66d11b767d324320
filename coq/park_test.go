package coq

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// parkStep is one Apply of parkScript: from the state issued by step
// from (-1: the root).
type parkStep struct {
	from   int
	tactic string
}

// parkScript branches over mathd_algebra_141: a failure, two levels of
// states, backtracking to the root and to a middle state, a proof.
var parkScript = []parkStep{
	{-1, "lia."},                                  // 0 failed
	{-1, "assert (H : a + b = 27) by lra."},       // 1 open
	{1, "assert (H2 : a * b = 180) by exact h₁."}, // 2 open
	{-1, "intros."},                               // 3 open (back to the root)
	{2, "assert (H3 : a + b <= 27) by lra."},      // 4 open (replay through 1, 2)
	{1, "exact I."},                               // 5 failed, from a middle state
	{4, "nra."},                                   // 6 proved
	{3, "nra."},                                   // 7 from the root's other child
}

type stepSummary struct {
	Status prover.StepStatus
	Goals  string
}

// runScript runs parkScript on s; between steps it calls between(i) (with
// the index of the step about to run).
func runScript(t *testing.T, s prover.Session, between func(i int)) []stepSummary {
	t.Helper()
	ctx := context.Background()
	ids := make([]prover.StateID, len(parkScript))
	var out []stepSummary
	for i, st := range parkScript {
		if between != nil {
			between(i)
		}
		from := s.Root().ID
		if st.from >= 0 {
			from = ids[st.from]
		}
		r, err := s.Apply(ctx, from, st.tactic, 5*time.Second)
		if err != nil {
			t.Fatalf("step %d %q: %v", i, st.tactic, err)
		}
		ids[i] = r.State.ID
		out = append(out, stepSummary{r.Status, fmt.Sprint(r.State.Goals)})
	}
	return out
}

// Parking at every step, with another theorem's session taking the one
// coqtop (Workers: 1) at every other step, gives the same results as an
// unparked session, from every state: the cheap resume (nobody took the
// process) and the reload plus replay (somebody did) are both exercised,
// and at no time is more than one coqtop alive.
func TestParkResumeRoundTrips(t *testing.T) {
	needCoq(t)
	t.Parallel()
	thm := parse(t, "mathd_algebra_141", algebra141)
	other := parse(t, "mathd_algebra_410", `Require Import Reals.
Open Scope R_scope.
Theorem mathd_algebra_410 :
  forall x y : R,
    y = x^2 - 6 * x + 13 -> 4 <= y.
Proof.
Admitted.`)
	ctx := context.Background()

	ref := New(Config{Workers: 1})
	defer ref.Close()
	rs, err := ref.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	want := runScript(t, rs, nil)
	rs.Close()
	if want[0].Status != prover.StepFailed || want[1].Status != prover.StepOpen || want[6].Status != prover.StepProved {
		t.Fatalf("the script does not do what it says: %+v", want)
	}

	b := New(Config{Workers: 1})
	defer b.Close()
	ps, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	s := ps.(*session)
	alive := func(when string) {
		if n := b.pool.Stats().Alive; n > 1 {
			t.Errorf("%s: %d coqtops alive, Workers is 1", when, n)
		}
	}
	taken := 0
	got := runScript(t, s, func(i int) {
		s.Park()
		if i%2 == 1 {
			// Another theorem opens while s is parked: with one worker it
			// can only get a slot and a process because s gave them back.
			octx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			o, err := b.Open(octx, other)
			if err != nil {
				t.Fatalf("step %d: opening another theorem while parked: %v", i, err)
			}
			alive("another session open")
			resumed := make(chan error, 1)
			go func() { resumed <- s.Resume(ctx) }()
			r, err := o.Apply(ctx, o.Root().ID, "intros x y h.", 5*time.Second)
			if err != nil || r.Status != prover.StepOpen || len(r.State.Goals) != 1 || !strings.Contains(r.State.Goals[0], "h : y = x ^ 2") {
				t.Errorf("step %d: the other session on the lent process: %+v, %v", i, r, err)
			}
			select {
			case err := <-resumed:
				t.Fatalf("step %d: Resume returned (%v) while the other session held the only slot", i, err)
			default:
			}
			o.Close()
			if err := <-resumed; err != nil {
				t.Fatalf("step %d: Resume: %v", i, err)
			}
			taken++
		} else if err := s.Resume(ctx); err != nil {
			t.Fatalf("step %d: Resume: %v", i, err)
		}
		alive("resumed")
	})
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d %q from step %d: parked %+v, unparked %+v", i, parkScript[i].tactic, parkScript[i].from, got[i], want[i])
		}
	}
	st := b.Stats()
	if st.Parks != len(parkScript) || st.Taken != taken || st.Reloads != taken {
		t.Errorf("stats: %d parks, %d taken, %d reloads; want %d, %d, %d", st.Parks, st.Taken, st.Reloads, len(parkScript), taken, taken)
	}
	if st.Started != 1 {
		t.Errorf("%d coqtops started; the one process should have served both theorems", st.Started)
	}
	if s.Stats().Reloads != taken || s.Stats().Parks != len(parkScript) {
		t.Errorf("session stats %+v", s.Stats())
	}
}

// TacticCPU counts the tactics' CPU and not the replays: after the
// process is taken, replaying a path whose tactic cost a lot of CPU adds
// (nearly) nothing to it, while the checker's total grows.
func TestTacticCPUExcludesReplays(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	thm := parse(t, "mathd_algebra_141", algebra141)
	b := New(Config{Workers: 1})
	defer b.Close()
	ps, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	s := ps.(*session)
	if s.TacticCPU() != 0 {
		t.Fatalf("TacticCPU after Open = %v, want 0 (loading is not a tactic)", s.TacticCPU())
	}
	// A tactic that burns CPU and leaves a state: about 0.3 s.
	heavy := "assert (H : a + b = 27) by (do 300 (assert (0 < 1)%nat by lia; clear H); lra)."
	r, err := s.Apply(ctx, s.Root().ID, heavy, 10*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("heavy: %+v, %v", r, err)
	}
	heavyCPU := s.TacticCPU()
	if heavyCPU < 50*time.Millisecond {
		t.Fatalf("TacticCPU after the heavy tactic = %v; it should have measured its CPU", heavyCPU)
	}
	// Take the process away, then apply a cheap tactic below the heavy
	// state: the replay of the heavy tactic is not the new tactic's cost.
	s.Park()
	o, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	total0 := s.Stats().CheckerCPU
	r, err = s.Apply(ctx, r.State.ID, "intros.", 10*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("intros after the reload: %+v, %v", r, err)
	}
	replayed := s.Stats().CheckerCPU - total0
	added := s.TacticCPU() - heavyCPU
	if replayed < heavyCPU/2 {
		t.Fatalf("the apply after the reload used %v of CPU; the heavy tactic (%v) should have been replayed", replayed, heavyCPU)
	}
	if added >= heavyCPU/2 {
		t.Errorf("TacticCPU grew by %v for intros. after a replay of %v: the replay was charged", added, replayed)
	}
	if s.Stats().Reloads != 1 {
		t.Errorf("reloads = %d, want 1", s.Stats().Reloads)
	}
}

// parkingSession is a coq session that tells its test when it parks.
type parkingSession struct {
	*session
	mu     sync.Mutex
	parked chan struct{} // closed while parked
}

func (p *parkingSession) Park() {
	p.session.Park()
	p.mu.Lock()
	close(p.parked)
	p.mu.Unlock()
}

func (p *parkingSession) Resume(ctx context.Context) error {
	p.mu.Lock()
	p.parked = make(chan struct{})
	p.mu.Unlock()
	return p.session.Resume(ctx)
}

func (p *parkingSession) whenParked() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked
}

// parkingBackend opens parkingSessions and remembers them by theorem.
type parkingBackend struct {
	*Backend
	mu       sync.Mutex
	sessions map[string]*parkingSession
	opened   map[string]chan struct{}
}

func (b *parkingBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	s, err := b.Backend.Open(ctx, thm)
	if err != nil {
		return nil, err
	}
	ps := &parkingSession{session: s.(*session), parked: make(chan struct{})}
	b.mu.Lock()
	b.sessions[thm.Name] = ps
	close(b.opened[thm.Name])
	b.mu.Unlock()
	return ps, nil
}

// parkedProposer answers only once the theorem's session is parked: every
// wait for the model is a wait with the session parked, and another
// theorem's session may take its process meanwhile.
type parkedProposer struct {
	b *parkingBackend
}

func (p parkedProposer) Name() string { return "parked-closers" }

func (p parkedProposer) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	p.b.mu.Lock()
	opened := p.b.opened[req.Theorem.Name]
	p.b.mu.Unlock()
	select {
	case <-opened:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.b.mu.Lock()
	s := p.b.sessions[req.Theorem.Name]
	p.b.mu.Unlock()
	select {
	case <-s.whenParked():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return verdictProposer.Propose(ctx, req)
}

// The miniF2F verdicts of an unparked run (one theorem at a time) are
// those of a run where every model wait parks the session and four
// theorems share one coqtop, so that processes are taken and the states
// replayed all the time.
func TestVerdictsWithParking(t *testing.T) {
	needCoq(t)
	dir := minif2fDir(t)
	names := []string{"imo_1961_p1", "amc12b_2020_p5", "mathd_numbertheory_149", "mathd_algebra_151", "mathd_numbertheory_303", "mathd_algebra_185"}
	var thms []prover.Theorem
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(dir, "valid", name+".v"))
		if err != nil {
			t.Fatal(err)
		}
		thms = append(thms, parse(t, name, string(src)))
	}
	alone, _ := proveAll(t, thms, 1, 1)

	pb := &parkingBackend{Backend: New(Config{Workers: 1}), sessions: map[string]*parkingSession{}, opened: map[string]chan struct{}{}}
	defer pb.Close()
	for _, thm := range thms {
		pb.opened[thm.Name] = make(chan struct{})
	}
	a := &prover.Agent{
		Backend:        pb,
		Proposer:       parkedProposer{pb},
		Search:         search.Config{Expansions: 3, Samples: 16, TacticTimeout: time.Second},
		TheoremTimeout: 5 * time.Minute,
	}
	parked := map[string]verdict{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	parks := 0
	for _, thm := range thms {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o := a.Prove(context.Background(), thm)
			mu.Lock()
			defer mu.Unlock()
			parked[thm.Name] = verdict{o.Status, o.SearchEnd}
			parks += o.Parks
			if o.Parks == 0 {
				t.Errorf("%s: never parked", thm.Name)
			}
			if o.Status == prover.StatusError {
				t.Errorf("%s: %v", thm.Name, o.Err)
			}
		})
	}
	wg.Wait()
	st := pb.Stats()
	t.Logf("parked run: %d parks, %d processes taken, %d reloads, %d started, %v checker CPU", parks, st.Taken, st.Reloads, st.Started, st.CheckerCPU.Round(time.Millisecond))
	if st.Taken == 0 || st.Reloads == 0 {
		t.Errorf("no process was taken from a parked session (%d taken, %d reloads): the test did not exercise the reload", st.Taken, st.Reloads)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range alone {
			if !yield(n) {
				return
			}
		}
	}) {
		if alone[name] != parked[name] {
			t.Errorf("%s: unparked %v, parked %v", name, alone[name], parked[name])
		}
	}
}

// With Processes above Workers, a parked session keeps its process while
// another theorem checks on a second one: the resume is cheap (nothing
// taken, nothing reloaded), and at most Processes coqtops are alive.
func TestParkedSessionKeepsItsProcessWhenThereIsRoom(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	thm := parse(t, "mathd_algebra_141", algebra141)
	b := New(Config{Workers: 1, Processes: 2})
	defer b.Close()
	ps, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	s := ps.(*session)
	r, err := s.Apply(ctx, s.Root().ID, "assert (H : a + b = 27) by lra.", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("assert: %+v, %v", r, err)
	}
	mine := s.c
	s.Park()
	o, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	if o.(*session).c == mine {
		t.Fatal("the other session got the parked session's process although there was room for another")
	}
	o.Close()
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	r, err = s.Apply(ctx, r.State.ID, "nra.", 5*time.Second)
	if err != nil || r.Status != prover.StepProved {
		t.Fatalf("nra after the resume: %+v, %v", r, err)
	}
	st := b.Stats()
	if st.Taken != 0 || st.Reloads != 0 || st.Started != 2 || s.c != mine {
		t.Errorf("stats %+v (want nothing taken or reloaded, two coqtops); same process: %v", st, s.c == mine)
	}
	if n := b.pool.Stats().Alive; n > 2 {
		t.Errorf("%d coqtops alive, Processes is 2", n)
	}
}

package coq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Parking: a session waiting for the model gives its checker slot back
// and lends its coqtop to whoever needs one.
//
// A parked session keeps its process (still leased from the pool, with the
// theorem and the path loaded) on the backend's parked list and releases
// its slot, so that another theorem can check meanwhile. A lease (Open, a
// restart, a resume) prefers, in order: an idle warm process or room in
// the pool for a new one (proc.Pool.Get), else the process of the session
// parked longest ago, which is then taken from it. Leases are chosen one
// at a time (Backend.leaseMu), so the choice and the Get agree on what is
// free. The limits hold throughout: at most Processes (default Workers)
// alive (the pool's Size), at most Workers busy (slots: a session holds
// one except while parked). With Processes above Workers, a parked
// session keeps its process unless more sessions than that are open.
//
// Resume takes a slot back; a session whose process nobody took goes on
// at once on the same coqtop, whose document is exactly as it was left. A
// session whose process was taken loads the theorem on another one (a
// Reload); the next Apply replays the path to its state as after a
// restart (session.goTo), so Apply from any state the session issued
// behaves as if it had never been parked.

var (
	_ prover.Parker   = (*session)(nil)
	_ prover.CPUMeter = (*session)(nil)
)

// takeParked returns the process of the session parked longest ago, taken
// from it, when a lease could otherwise not be served at once (no idle
// process, no room for a new one); nil otherwise. Called with leaseMu
// held.
func (b *Backend) takeParked() *coqtop {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.parked) == 0 {
		return nil
	}
	if st := b.pool.Stats(); st.Idle > 0 || st.Alive < b.cfg.Processes {
		return nil
	}
	s := b.parked[0]
	b.parked = b.parked[1:]
	c := s.c
	s.c, s.tip = nil, nil
	s.taken = true
	b.stats.Taken++
	return c
}

// unpark removes s from the parked list (mu held); it reports whether s
// was there (its process not taken).
func (b *Backend) unpark(s *session) bool {
	i := slices.Index(b.parked, s)
	if i < 0 {
		return false
	}
	b.parked = slices.Delete(b.parked, i, i+1)
	return true
}

// Park releases the session's checker slot and lends its process to the
// backend until Resume (prover.Parker). It is called between Apply calls.
func (s *session) Park() {
	if s.closed || s.parked {
		return
	}
	s.parked = true
	s.stats.Parks++
	s.b.mu.Lock()
	s.b.stats.Parks++
	if s.c != nil {
		s.b.parked = append(s.b.parked, s)
	}
	s.b.mu.Unlock()
	s.b.slots.Release(1)
}

// Resume waits for a checker slot (within ctx) and takes the session's
// process back: the same one when nobody took it, else another one with
// the theorem loaded (prover.Parker). On an error the session stays
// parked (Close may still be called).
func (s *session) Resume(ctx context.Context) error {
	if s.closed {
		return prover.ErrClosed
	}
	if !s.parked {
		return nil
	}
	wait := time.Now()
	if err := s.b.slots.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("waiting %v for a checker slot to resume %s: %w", time.Since(wait).Round(time.Millisecond), s.thm.Name, context.Cause(ctx))
	}
	s.b.mu.Lock()
	kept := s.b.unpark(s)
	s.b.mu.Unlock()
	s.parked = false
	if kept || !s.taken {
		// Ours all along (or already lost to a death, which the next
		// Apply handles as usual).
		return nil
	}
	s.stats.Reloads++
	s.b.mu.Lock()
	s.b.stats.Reloads++
	s.b.mu.Unlock()
	c, err := s.b.lease(ctx)
	if err == nil {
		err = s.loadOn(ctx, c)
		if err != nil && ctx.Err() == nil && isTransient(err) {
			// The new process died or stalled while loading: the next
			// Apply restarts and replays, with the usual crash accounting.
			err = nil
		}
	}
	if err != nil {
		s.parked = true // still without a process: a later Resume tries again
		s.b.slots.Release(1)
		return fmt.Errorf("resuming %s: %w", s.thm.Name, err)
	}
	s.taken = false
	return nil
}

// isTransient reports whether a load error is the process's fault (a
// restart may cure it) rather than the theorem's or the backend's.
func isTransient(err error) bool {
	return errors.Is(err, prover.ErrProcessDied) || errors.Is(err, prover.ErrTacticTimeout)
}

// TacticCPU is the coqtop CPU time of the session's tactics so far
// (prover.CPUMeter): the sentence of each Apply, the goal display after it
// and the undo of a failed one; loading the theorem, backtracking to the
// state an Apply starts from and replaying paths are not counted. A
// tactic that timed out counts at least its budget (a killed process
// reports no CPU time).
func (s *session) TacticCPU() time.Duration { return s.tacticCPU }

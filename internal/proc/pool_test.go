package proc_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
)

// res is a fake pooled resource.
type res struct {
	id      int
	key     string
	closed  atomic.Bool
	sick    atomic.Bool // Healthy reports false
	rss     atomic.Int64
	leaseMu sync.Mutex // held while leased: a double lease would deadlock the test
}

// world makes and closes fake resources, and records what happened.
type world struct {
	mu        sync.Mutex
	next      int
	fail      int // fail this many starts first
	starts    []time.Time
	alive     int
	maxAlive  int
	closeErr  error
	startErr  error
	startKeys []string
}

var errStart = errors.New("coqtop: prelude failed to load")

func (w *world) config(size int) proc.PoolConfig[*res] {
	return proc.PoolConfig[*res]{
		Size: size,
		Start: func(ctx context.Context, key string) (*res, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.starts = append(w.starts, time.Now())
			w.startKeys = append(w.startKeys, key)
			if w.fail > 0 {
				w.fail--
				return nil, errStart
			}
			w.next++
			w.alive++
			w.maxAlive = max(w.maxAlive, w.alive)
			return &res{id: w.next, key: key}, nil
		},
		Close: func(r *res) error {
			if r.closed.Swap(true) {
				panic(fmt.Sprintf("resource %d closed twice", r.id))
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			w.alive--
			return w.closeErr
		},
		Healthy: func(r *res) bool { return !r.sick.Load() },
		RSS:     func(r *res) int64 { return r.rss.Load() },
		Backoff: proc.Backoff{Jitter: -1},
	}
}

func mustGet(t *testing.T, p *proc.Pool[*res], key string) *res {
	t.Helper()
	r, err := p.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return r
}

func TestPoolReusesByKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(2))
		a := mustGet(t, p, "A")
		p.Put(a, true)
		if again := mustGet(t, p, "A"); again != a {
			t.Errorf("Get(A) after Put = resource %d, want %d again", again.id, a.id)
		}
		b := mustGet(t, p, "B") // A is leased: B starts, no eviction
		if b == a {
			t.Fatalf("B got A's resource")
		}
		if s := p.Stats(); s.Started != 2 || s.Leased != 2 || s.Alive != 2 || s.Evicted != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestPoolEvictsLRUOfAnotherKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(2))
		a := mustGet(t, p, "A")
		b := mustGet(t, p, "B")
		p.Put(a, true)
		p.Put(b, true)
		p.Put(mustGet(t, p, "A"), true) // A is now the most recently used
		c := mustGet(t, p, "C")         // full: evicts B, the LRU idle one
		if !b.closed.Load() || a.closed.Load() {
			t.Errorf("evicted: A %v, B %v; want B only", a.closed.Load(), b.closed.Load())
		}
		p.Put(c, true)
		if got := mustGet(t, p, "A"); got != a {
			t.Errorf("A was restarted (resource %d)", got.id)
		}
		if s := p.Stats(); s.Evicted != 1 || s.Started != 3 || s.Alive != 2 || w.maxAlive != 2 {
			t.Errorf("stats %+v, max alive %d", s, w.maxAlive)
		}
		// Not full: no eviction, the other key stays warm.
		q := proc.NewPool(w.config(3))
		x := mustGet(t, q, "X")
		q.Put(x, true)
		q.Put(mustGet(t, q, "Y"), true)
		if x.closed.Load() || q.Stats().Idle != 2 {
			t.Errorf("a pool with room evicted: stats %+v", q.Stats())
		}
	})
}

func TestPoolSizeBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(2))
		a := mustGet(t, p, "A")
		mustGet(t, p, "B")
		got := make(chan *res, 1)
		go func() {
			r, err := p.Get(context.Background(), "C")
			if err != nil {
				t.Errorf("Get(C): %v", err)
			}
			got <- r
		}()
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("a third Get returned resource %d with Size 2 and two leased", r.id)
		default:
		}
		p.Put(a, true)
		synctest.Wait()
		select {
		case r := <-got:
			if r.key != "C" || !a.closed.Load() {
				t.Errorf("Get(C) = %+v, A closed %v", r.key, a.closed.Load())
			}
		default:
			t.Fatalf("Get(C) still blocked after a Put")
		}
		if w.maxAlive != 2 {
			t.Errorf("max alive %d, want 2", w.maxAlive)
		}
	})
}

// TestPoolConcurrent hammers a pool and checks the bound under the race
// detector.
func TestPoolConcurrent(t *testing.T) {
	t.Parallel()
	var w world
	cfg := w.config(3)
	cfg.MaxUses = 5
	p := proc.NewPool(cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				key := fmt.Sprint("K", rng.IntN(4))
				r, err := p.Get(context.Background(), key)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if !r.leaseMu.TryLock() {
					t.Errorf("resource %d leased twice", r.id)
					return
				}
				if r.key != key || r.closed.Load() {
					t.Errorf("Get(%s) = resource of %s, closed %v", key, r.key, r.closed.Load())
				}
				r.leaseMu.Unlock()
				p.Put(r, rng.IntN(10) > 0)
			}
		})
	}
	wg.Wait()
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.maxAlive > 3 || w.alive != 0 {
		t.Errorf("max alive %d (Size 3), alive after Close %d", w.maxAlive, w.alive)
	}
	if s := p.Stats(); s.Alive != 0 || s.Idle != 0 || s.Leased != 0 || s.Started == 0 {
		t.Errorf("stats after Close %+v", s)
	}
}

func TestPoolMaxUsesAndMaxRSS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		cfg := w.config(2)
		cfg.MaxUses = 2
		cfg.MaxRSS = 100
		p := proc.NewPool(cfg)
		a := mustGet(t, p, "A")
		p.Put(a, true)
		p.Put(mustGet(t, p, "A"), true) // second use: recycled
		synctest.Wait()
		if !a.closed.Load() {
			t.Fatalf("not recycled after MaxUses")
		}
		b := mustGet(t, p, "A")
		if b == a {
			t.Fatalf("a recycled resource was leased again")
		}
		b.rss.Store(200)
		p.Put(b, true) // above MaxRSS: recycled
		synctest.Wait()
		if !b.closed.Load() {
			t.Errorf("not recycled above MaxRSS")
		}
		if s := p.Stats(); s.Recycled != 2 || s.Alive != 0 || s.Restarts != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestPoolUnhealthyNotReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(2))
		a := mustGet(t, p, "A")
		p.Put(a, false) // the session died
		synctest.Wait()
		b := mustGet(t, p, "A")
		if b == a || !a.closed.Load() {
			t.Fatalf("an unhealthy resource was reused (closed %v)", a.closed.Load())
		}
		p.Put(b, true)
		b.sick.Store(true) // dies while idle: the health check catches it
		c := mustGet(t, p, "A")
		if c == b || !b.closed.Load() {
			t.Fatalf("a resource failing its health check was reused")
		}
		if s := p.Stats(); s.Killed != 2 || s.Restarts != 2 || s.Started != 3 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestPoolGetCancelledLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(1))
		a := mustGet(t, p, "A")
		cause := errors.New("theorem budget spent")
		ctx, cancel := context.WithCancelCause(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := p.Get(ctx, "A")
			errc <- err
		}()
		synctest.Wait() // queued
		cancel(cause)
		if err := <-errc; !errors.Is(err, cause) {
			t.Fatalf("cancelled Get = %v, want the cause", err)
		}
		p.Put(a, true)
		// The slot is free for the next caller: the cancelled one took nothing.
		done := make(chan *res, 1)
		go func() { done <- mustGet(t, p, "A") }()
		synctest.Wait()
		select {
		case r := <-done:
			if r != a {
				t.Errorf("got resource %d, want the idle one", r.id)
			}
		default:
			t.Fatalf("Get blocked after the cancelled waiter left")
		}
		// A Get with a done ctx does not queue at all.
		if _, err := p.Get(ctx, "A"); !errors.Is(err, cause) {
			t.Errorf("Get(done ctx) = %v", err)
		}
	})
}

func TestPoolCloseWithLeased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		p := proc.NewPool(w.config(1))
		a := mustGet(t, p, "A")
		getErr := make(chan error, 1)
		go func() {
			_, err := p.Get(context.Background(), "A")
			getErr <- err
		}()
		synctest.Wait()
		closeErr := make(chan error, 1)
		go func() { closeErr <- p.Close(context.Background()) }()
		synctest.Wait()
		if err := <-getErr; !errors.Is(err, proc.ErrClosed) {
			t.Errorf("waiting Get = %v, want ErrClosed", err)
		}
		select {
		case err := <-closeErr:
			t.Fatalf("Close returned %v with a resource still leased", err)
		default:
		}
		p.Put(a, true)
		synctest.Wait()
		select {
		case err := <-closeErr:
			if err != nil {
				t.Errorf("Close = %v", err)
			}
		default:
			t.Fatalf("Close still waiting after the lease came back")
		}
		if !a.closed.Load() {
			t.Errorf("the returned resource was not closed")
		}
		if _, err := p.Get(context.Background(), "A"); !errors.Is(err, proc.ErrClosed) {
			t.Errorf("Get after Close = %v", err)
		}
	})
}

func TestPoolCloseTimesOutAndJoinsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w world
		w.closeErr = errors.New("coqtop would not die")
		p := proc.NewPool(w.config(2))
		idle := mustGet(t, p, "A")
		leased := mustGet(t, p, "B")
		p.Put(idle, true)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := p.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, w.closeErr) {
			t.Errorf("Close = %v, want the idle close error and the deadline", err)
		}
		if !idle.closed.Load() || leased.closed.Load() {
			t.Errorf("closed: idle %v, leased %v", idle.closed.Load(), leased.closed.Load())
		}
		p.Put(leased, true)
		synctest.Wait()
		if !leased.closed.Load() {
			t.Errorf("a lease returned after Close was not closed")
		}
		if err := p.Close(context.Background()); !errors.Is(err, w.closeErr) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("second Close = %v", err)
		}
	})
}

func TestPoolStartFailuresBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := world{fail: 3}
		p := proc.NewPool(w.config(1))
		t0 := time.Now()
		for i := range 3 {
			if _, err := p.Get(context.Background(), "A"); !errors.Is(err, errStart) {
				t.Fatalf("Get %d = %v, want the start error", i, err)
			}
		}
		r := mustGet(t, p, "A")
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond}
		for i, at := range w.starts {
			if got := at.Sub(t0); got != want[i] {
				t.Errorf("start %d at +%v, want +%v", i, got, want[i])
			}
		}
		if s := p.Stats(); s.StartFailures != 3 || s.Started != 1 {
			t.Errorf("stats %+v", s)
		}
		// A success resets the backoff: the next start is immediate.
		p.Put(r, false)
		synctest.Wait()
		t1 := time.Now()
		mustGet(t, p, "A")
		if got := w.starts[len(w.starts)-1].Sub(t1); got != 0 {
			t.Errorf("start after a success waited %v", got)
		}
	})
}

func TestPoolCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := world{fail: 1}
		cfg := w.config(1)
		cfg.Backoff = proc.Backoff{Base: time.Hour, Max: time.Hour, Jitter: -1}
		p := proc.NewPool(cfg)
		if _, err := p.Get(context.Background(), "A"); !errors.Is(err, errStart) {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := p.Get(ctx, "A"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get during an hour of backoff = %v, want the deadline", err)
		}
		if s := p.Stats(); s.StartFailures != 1 || len(w.starts) != 1 || s.Alive != 0 {
			t.Errorf("stats %+v, %d starts; a cancelled wait is not a failure", s, len(w.starts))
		}
		// Close ends a wait in backoff too.
		errc := make(chan error, 1)
		go func() {
			_, err := p.Get(context.Background(), "A")
			errc <- err
		}()
		synctest.Wait()
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close = %v", err)
		}
		if err := <-errc; !errors.Is(err, proc.ErrClosed) {
			t.Errorf("Get in backoff after Close = %v", err)
		}
	})
}

func TestPoolPutUnknownPanics(t *testing.T) {
	var w world
	p := proc.NewPool(w.config(1))
	defer func() {
		if recover() == nil {
			t.Errorf("Put of an unleased resource did not panic")
		}
	}()
	p.Put(&res{}, true)
}

// TestPoolOfProcesses runs real fakes through a pool the way a backend
// does: Start a process, health = not exited, Close = Process.Close.
func TestPoolOfProcesses(t *testing.T) {
	t.Parallel()
	p := proc.NewPool(proc.PoolConfig[*proc.Process]{
		Size:    2,
		MaxUses: 3,
		Start: func(ctx context.Context, key string) (*proc.Process, error) {
			return proc.Start(ctx, fake("echo"))
		},
		Close:   (*proc.Process).Close,
		Healthy: func(p *proc.Process) bool { return !p.Exited() },
		RSS:     (*proc.Process).RSS,
	})
	first := map[*proc.Process]bool{}
	for i := range 7 {
		pr, err := p.Get(context.Background(), "header")
		if err != nil {
			t.Fatal(err)
		}
		first[pr] = true
		if i == 4 {
			pr.Kill(nil) // dies in a request
			p.Put(pr, false)
			continue
		}
		p.Put(pr, true)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	for pr := range first {
		if !pr.Exited() {
			t.Errorf("process %d alive after the pool closed", pr.Pid())
		}
	}
	if s := p.Stats(); s.Recycled != 1 || s.Killed != 1 || s.Started != 3 {
		t.Errorf("stats %+v", s)
	}
}

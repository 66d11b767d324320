package model

import "time"

// LimitConfig is the in-flight policy applied to each endpoint separately,
// so that the total in flight is at most len(URLs) x Max.
//
// The limit adapts by AIMD. It starts at Initial and, while requests come
// back without congestion and the limit is actually used (at least half of
// it in flight), grows: by one per answer until the first congestion signal
// (slow start), then by about one per round trip. Congestion halves it: a
// 429 or 503 answer, or an attempt that timed out. A latency above
// Tolerance x the endpoint's baseline (the smallest latency seen over the
// last few hundred answers) shrinks it by 10%. At most one cut per baseline
// latency, so one burst of 429s counts once. Max == Initial pins the limit
// (no growth, no cuts).
type LimitConfig struct {
	Initial int // default 8
	Min     int // default 1
	Max     int // default 64 (raised to Initial when smaller)
	// Tolerance is the latency ratio over the baseline taken as a full
	// runtime (default 2: a continuous-batching server's latency grows with
	// its batch, and doubling it is where more in flight stops paying).
	Tolerance float64
}

func (c LimitConfig) withDefaults() LimitConfig {
	if c.Initial <= 0 {
		c.Initial = 8
	}
	if c.Min <= 0 {
		c.Min = 1
	}
	if c.Max <= 0 {
		c.Max = 64
	}
	c.Max = max(c.Max, c.Initial)
	c.Min = min(c.Min, c.Initial)
	if c.Max == c.Initial {
		c.Min = c.Initial // pinned
	}
	if c.Tolerance <= 1 {
		c.Tolerance = 2
	}
	return c
}

const (
	latencyWindow = 256 // answers per baseline window
	latencyWarmup = 8   // answers before latency can cut the limit
	latencyCut    = 0.9
	overloadCut   = 0.5
)

// limitState is one endpoint's adaptive limit. The runtime's mutex guards it.
type limitState struct {
	cfg       LimitConfig
	limit     float64
	inflight  int
	peak      int
	slowStart bool
	lastCut   time.Time
	// The baseline latency is the minimum over the current window and the
	// previous one, so that it follows a runtime that became slower for good
	// (longer prompts) within two windows.
	winMin, prevMin time.Duration
	winN, samples   int
	cuts            int64
}

func newLimitState(cfg LimitConfig) limitState {
	return limitState{cfg: cfg, limit: float64(cfg.Initial), slowStart: cfg.Max > cfg.Initial}
}

// capacity is the number of requests the endpoint may have in flight now.
func (s *limitState) capacity() int { return max(1, int(s.limit)) }

func (s *limitState) baseline() time.Duration {
	b := s.prevMin
	if s.winN > 0 && (b == 0 || s.winMin < b) {
		b = s.winMin
	}
	return b
}

// onSuccess records an answer that took lat, sent when busy requests
// (itself included) were in flight on the endpoint.
func (s *limitState) onSuccess(now time.Time, lat time.Duration, busy int) {
	s.samples++
	if s.winN == 0 || lat < s.winMin {
		s.winMin = lat
	}
	if s.winN++; s.winN >= latencyWindow {
		s.prevMin, s.winN = s.winMin, 0
	}
	if s.cfg.Min == s.cfg.Max {
		return // pinned
	}
	base := s.baseline()
	if s.samples > latencyWarmup && base > 0 && float64(lat) > s.cfg.Tolerance*float64(base) {
		s.cut(now, latencyCut)
		return
	}
	if busy*2 < s.capacity() {
		return // the limit was not what held requests back
	}
	if s.slowStart {
		s.limit++
	} else {
		s.limit += 1 / s.limit
	}
	s.limit = min(s.limit, float64(s.cfg.Max))
}

// onOverload records a 429/503 answer or a timed-out attempt.
func (s *limitState) onOverload(now time.Time) { s.cut(now, overloadCut) }

func (s *limitState) cut(now time.Time, factor float64) {
	s.slowStart = false
	if s.cfg.Min == s.cfg.Max {
		return
	}
	if !s.lastCut.IsZero() && now.Sub(s.lastCut) < max(s.baseline(), 10*time.Millisecond) {
		return // the same congestion event
	}
	s.lastCut = now
	s.cuts++
	s.limit = max(float64(s.cfg.Min), s.limit*factor)
}

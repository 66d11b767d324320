package model

import (
	"math"
	"slices"
	"sync"
)

// knnExample is one (state, tactic) pair of the index.
type knnExample struct {
	feats  []uint64   // sorted feature hashes of the state
	state  *goalState // the recorded state, for the tactic's template
	tactic string     // as recorded
	count  int        // times seen with progress
	neg    int        // times seen failing
	ms     int        // slowest recorded run, milliseconds
	lazy   *lazyTemplate
}

// lazyTemplate computes an example's template when it is first a
// neighbour: most examples never are, and the roles of a state's locals
// are the costly part of loading.
type lazyTemplate struct {
	once sync.Once
	tmpl tacTemplate
}

// template is the example's abstracted tactic.
func (e *knnExample) template() tacTemplate {
	e.lazy.once.Do(func() {
		if namesLocal(e.tactic, *e.state) {
			e.lazy.tmpl = abstractTactic(e.tactic, *e.state, describeLocals(*e.state))
		} else {
			e.lazy.tmpl = tacTemplate{pieces: []piece{{kind: pieceLit, text: e.tactic}}}
		}
	})
	return e.lazy.tmpl
}

// knnIndex is a brute-force TF-IDF index: an inverted list per feature,
// cosine similarity over binary features weighted by idf².
type knnIndex struct {
	ex    []knnExample
	vocab map[uint64]int32
	post  [][]int32
	idf   []float32
	norm  []float32
	pool  sync.Pool // *[]float32 accumulators
}

func buildIndex(ex []knnExample) *knnIndex {
	ix := &knnIndex{ex: ex, vocab: map[uint64]int32{}}
	for i, e := range ex {
		for _, f := range e.feats {
			id, ok := ix.vocab[f]
			if !ok {
				id = int32(len(ix.post))
				ix.vocab[f] = id
				ix.post = append(ix.post, nil)
			}
			ix.post[id] = append(ix.post[id], int32(i))
		}
	}
	n := float64(len(ex))
	ix.idf = make([]float32, len(ix.post))
	for id, p := range ix.post {
		ix.idf[id] = float32(math.Log(1 + n/float64(len(p))))
	}
	ix.norm = make([]float32, len(ex))
	for i, e := range ex {
		s := 0.0
		for _, f := range e.feats {
			w := float64(ix.idf[ix.vocab[f]])
			s += w * w
		}
		ix.norm[i] = float32(math.Sqrt(s))
	}
	ix.pool.New = func() any {
		acc := make([]float32, len(ex))
		return &acc
	}
	return ix
}

type neighbor struct {
	ex  int
	sim float64
}

// query returns the k examples most similar to feats, best first, with
// their cosine similarity in (0, 1]. Features unknown to the index count
// in the query's norm (with the idf of a feature seen once).
func (ix *knnIndex) query(feats []uint64, k int) []neighbor {
	if len(ix.ex) == 0 || len(feats) == 0 || k <= 0 {
		return nil
	}
	accp := ix.pool.Get().(*[]float32)
	acc := *accp
	defer ix.pool.Put(accp)
	var touched []int32
	qn := 0.0
	unseen := float32(math.Log(1 + float64(len(ix.ex))))
	for _, f := range feats {
		id, ok := ix.vocab[f]
		if !ok {
			qn += float64(unseen * unseen)
			continue
		}
		w := ix.idf[id] * ix.idf[id]
		qn += float64(w)
		for _, e := range ix.post[id] {
			if acc[e] == 0 {
				touched = append(touched, e)
			}
			acc[e] += w
		}
	}
	qn = math.Sqrt(qn)
	// Keep the k best in a min-heap on (sim, -index).
	h := make([]neighbor, 0, k)
	worse := func(a, b neighbor) bool { return a.sim < b.sim || a.sim == b.sim && a.ex > b.ex }
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && worse(h[l], h[m]) {
				m = l
			}
			if r := l + 1; r < len(h) && worse(h[r], h[m]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for _, e := range touched {
		sim := 0.0
		if d := float64(ix.norm[e]) * qn; d > 0 {
			sim = math.Min(1, float64(acc[e])/d)
		}
		acc[e] = 0
		n := neighbor{int(e), sim}
		switch {
		case sim <= 0:
		case len(h) < k:
			h = append(h, n)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		case worse(h[0], n):
			h[0] = n
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b neighbor) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return h
}

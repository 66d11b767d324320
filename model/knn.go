package model

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// KNN is the learned GPU-free proposer: Tactician-style k nearest
// neighbours from proof-state features to the tactics that made progress
// there (coq-automation.md §2), trained by `llemma-prove train` on replays
// of the Coq standard library and on the project's own proofs of the valid
// split. Each neighbour's tactic is re-bound to the current state's names;
// its score is a log-probability-like value in (-inf, 0]:
//
//	log(V_t / W) + log(S_t)
//
// where V_t is the similarity-weighted vote for tactic t among the K
// neighbours, W the total weight (plus a reserve for "none of these"), and
// S_t the best similarity of a neighbour proposing t. It grows with both
// similarity and votes. Tactics that failed in similar states (negatives)
// lower it by log(V_t / (V_t + N_t)).
type KNN struct {
	Model *KNNModel
	// K is the number of neighbours consulted (default 32).
	K int
	// Scale multiplies every score (default 1), to weigh the k-NN against
	// another proposer in Merge.
	Scale float64
	// MaxCandidates bounds the candidates of one call (default 48; the
	// request's N bounds it too).
	MaxCandidates int
}

var _ prover.Proposer = (*KNN)(nil)

// Name is "knn".
func (k *KNN) Name() string { return "knn" }

// ErrNoKNNModel: the proposer has no model.
var ErrNoKNNModel = errors.New("model: the knn proposer has no model (build one with `llemma-prove train`)")

const (
	knnReserve  = 0.05 // weight of "none of the neighbours' tactics"
	knnMinScore = -30.0
)

// Propose returns re-bound tactics of the nearest recorded states, best
// first. Every candidate passes the Coq tactic policy.
func (k *KNN) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if k.Model == nil || k.Model.pos == nil {
		return nil, ErrNoKNNModel
	}
	if len(req.State.Goals) == 0 {
		return nil, nil
	}
	kk := k.K
	if kk <= 0 {
		kk = 32
	}
	scale := k.Scale
	if scale <= 0 {
		scale = 1
	}
	limit := k.MaxCandidates
	if limit <= 0 {
		limit = 48
	}
	if req.N > 0 && req.N < limit {
		limit = req.N
	}
	g := parseGoals(req.State.Goals)
	feats := stateFeatures(g)
	cur := describeLocals(g)

	type agg struct {
		votes, best, neg float64
		ms               int
		order            int
	}
	byTactic := map[string]*agg{}
	total := knnReserve
	for _, nb := range k.Model.pos.query(feats, kk) {
		e := &k.Model.pos.ex[nb.ex]
		w := nb.sim * nb.sim * (1 + math.Log(float64(max(e.count, 1))))
		total += w
		for _, b := range bind(e.template(), cur) {
			a := byTactic[b.tactic]
			if a == nil {
				a = &agg{order: len(byTactic)}
				byTactic[b.tactic] = a
			}
			a.votes += w * math.Exp(-2*b.penalty)
			a.best = math.Max(a.best, nb.sim)
			a.ms = max(a.ms, e.ms)
		}
	}
	if len(byTactic) == 0 {
		return nil, nil
	}
	if k.Model.neg != nil && len(k.Model.neg.ex) > 0 {
		for _, nb := range k.Model.neg.query(feats, kk) {
			e := &k.Model.neg.ex[nb.ex]
			for _, b := range bind(e.template(), cur) {
				if a := byTactic[b.tactic]; a != nil {
					a.neg += nb.sim * nb.sim * math.Log1p(float64(e.neg)) * math.Exp(-2*b.penalty)
				}
			}
		}
	}
	out := make([]prover.Candidate, 0, len(byTactic))
	orders := map[string]int{}
	policy := coq.Policy{}
	for t, a := range byTactic {
		checked, err := policy.Check(t)
		if err != nil {
			continue
		}
		score := math.Log(a.votes/total) + math.Log(a.best)
		if a.neg > 0 {
			score += math.Log(a.votes / (a.votes + a.neg))
		}
		score = math.Max(knnMinScore, math.Min(0, score*scale))
		if math.IsNaN(score) {
			continue
		}
		orders[checked] = a.order
		out = append(out, prover.Candidate{Tactic: checked, Score: score, LogProb: score, Timeout: knnTimeout(checked, a.ms)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return orders[out[i].Tactic] < orders[out[j].Tactic]
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// knnTimeout is a candidate's deadline: the decision procedures' leashes
// of the portfolio, or longer when the recorded run was slow, within 3 s.
func knnTimeout(tactic string, ms int) time.Duration {
	d := time.Second
	for _, w := range []string{"lra", "lia", "field", "ring", "auto", "omega"} {
		if strings.Contains(tactic, w) {
			d = 1500 * time.Millisecond
		}
	}
	for _, w := range []string{"nra", "nia", "psatz", "sauto", "vm_compute"} {
		if strings.Contains(tactic, w) {
			d = 2500 * time.Millisecond
		}
	}
	if rec := time.Duration(3*ms)*time.Millisecond + 500*time.Millisecond; rec > d {
		d = rec
	}
	return min(d, 3*time.Second)
}

// OpenKNN loads the k-NN proposer's model from path (DefaultKNNModel when
// empty) for backend, which must be coq.
func OpenKNN(path, backend string) (*KNN, error) {
	if backend != "" && backend != "coq" {
		return nil, fmt.Errorf("the knn proposer has Coq tactics only, not %s", backend)
	}
	if path == "" {
		path = DefaultKNNModel
	}
	m, err := LoadKNN(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing; build it with `llemma-prove train`, or pass --knn-model FILE", ErrNoKNNModel, path)
	}
	if err != nil {
		return nil, err
	}
	return &KNN{Model: m}, nil
}

// Versioned is implemented by proposers whose output depends on a model
// file; ModelVersions collects them for a run's metadata.
type Versioned interface {
	ModelVersions() map[string]string
}

// ModelVersions is the version of the k-NN model: "knn" -> "sha256:...".
func (k *KNN) ModelVersions() map[string]string {
	if k.Model == nil {
		return nil
	}
	return map[string]string{"knn": k.Model.Version()}
}

// ModelVersions returns the model versions of a proposer and of the
// proposers it merges (empty for one without a model file, such as the
// portfolio).
func ModelVersions(p prover.Proposer) map[string]string {
	out := map[string]string{}
	if v, ok := p.(Versioned); ok {
		for k, s := range v.ModelVersions() {
			out[k] = s
		}
	}
	return out
}

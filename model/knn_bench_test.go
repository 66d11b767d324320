package model

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

// BenchmarkKNNPropose measures one query on the full committed model
// (models/coq-knn.gz): features, neighbours, re-binding, policy check.
func BenchmarkKNNPropose(b *testing.B) {
	path := filepath.Join("..", DefaultKNNModel)
	k, err := OpenKNN(path, "coq")
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	var reqs []prover.ProposalRequest
	for _, g := range knnStates {
		reqs = append(reqs, prover.ProposalRequest{State: prover.State{Goals: g}, N: 64})
	}
	b.ReportMetric(float64(k.Model.Info().Indexed), "examples")
	i := 0
	for b.Loop() {
		if _, err := k.Propose(context.Background(), reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkKNNLoad measures reading and indexing the committed model.
func BenchmarkKNNLoad(b *testing.B) {
	path := filepath.Join("..", DefaultKNNModel)
	if _, err := LoadKNN(path); err != nil {
		b.Skipf("skipping: %v", err)
	}
	for b.Loop() {
		if _, err := LoadKNN(path); err != nil {
			b.Fatal(err)
		}
	}
}

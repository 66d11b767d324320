package bridge

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

const fillFile = `Require Import Arith Lia.

Lemma double (n : nat) : n + n = 2 * n.
Proof.
  admit.
Admitted.

Theorem main_thm (a b : nat) (h : a = b + 1) : a + a = 2 * a /\ a > b.
Proof.
  split.
  - rewrite double. admit.
  - admit.
Qed.
`

// llemma/fill on real Coq: a llemma/hole notification per hole, before
// the answer; the answer's file is verified, and llemma/check agrees.
func TestRealCoqFill(t *testing.T) {
	if testing.Short() {
		t.Skip("real Coq: skipped under -short")
	}
	if _, err := exec.LookPath("coqtop"); err != nil {
		t.Skip("coqtop not installed (apt-get install -y coq)")
	}
	b := coq.New(coq.Config{Workers: 2})
	s := &Server{
		Backends:       func(string) (prover.Backend, error) { return b, nil },
		Proposer:       func(name string) (prover.Proposer, error) { return &model.Portfolio{Backend: name}, nil },
		DefaultBackend: "coq",
		Budget:         Budget{Expansions: 12, Samples: 64, TheoremTimeout: 30 * time.Second, TacticTimeout: 3 * time.Second},
		RequestTimeout: 2 * time.Minute,
	}
	defer s.Close()
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res FillResult
	if err := c.Call(ctx, MethodFill, FillParams{Backend: "coq", FileText: fillFile, Token: "t1"}, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.Closed != 4 || len(res.Holes) != 4 || strings.Contains(res.FileText, "admit") {
		t.Fatalf("fill: %+v", res)
	}
	// The notifications came before the answer (the client's handler
	// queued them as they were read).
	seen := map[int]bool{}
	for len(seen) < 4 {
		select {
		case n := <-c.notes:
			if n.Method != MethodHole {
				continue
			}
			var hp HoleParams
			if err := json.Unmarshal(*n.Params, &hp); err != nil || hp.Token != "t1" || hp.Hole.Status != "closed" {
				t.Fatalf("notification %s: %v", *n.Params, err)
			}
			seen[hp.Hole.Index] = true
		default:
			t.Fatalf("only %d llemma/hole notifications before the answer", len(seen))
		}
	}
	raw, rerr := c.call(t, MethodCheck, CheckParams{Backend: "coq", FileText: res.FileText})
	if rerr != nil {
		t.Fatal(rerr)
	}
	var cr CheckResult
	if err := json.Unmarshal(raw, &cr); err != nil || !cr.Verified {
		t.Fatalf("check of the filled file: %s", raw)
	}

	// A file that does not parse is bad params; nothing is searched.
	_, rerr = c.call(t, MethodFill, FillParams{Backend: "coq", FileText: "Goal True. (* open"})
	wantCode(t, MethodFill, rerr, CodeInvalidParams, "file_text")
}

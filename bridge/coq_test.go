package bridge

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

const minif2fCoq = "/work/shared/data/minif2f/coq"

// realCoqTheorem loads a miniF2F statement, skipping when Coq or the data
// is missing.
func realCoqTheorem(t *testing.T, name string) prover.Theorem {
	t.Helper()
	if testing.Short() {
		t.Skip("real Coq: skipped under -short")
	}
	if _, err := exec.LookPath("coqtop"); err != nil {
		t.Skip("coqtop not installed (apt-get install -y coq)")
	}
	src, err := os.ReadFile(minif2fCoq + "/test/" + name + ".v")
	if err != nil {
		t.Skipf("miniF2F Coq data missing: %v", err)
	}
	thm, err := coq.ParseTheorem(name, string(src))
	if err != nil {
		t.Fatal(err)
	}
	return thm
}

func TestRealCoqSuggestChecked(t *testing.T) {
	thm := realCoqTheorem(t, "mathd_algebra_141")
	b := coq.New(coq.Config{Workers: 1})
	s := &Server{
		Backends:       func(string) (prover.Backend, error) { return b, nil },
		Proposer:       func(name string) (prover.Proposer, error) { return &model.Portfolio{Backend: name}, nil },
		DefaultBackend: "coq",
		RequestTimeout: 2 * time.Minute,
	}
	defer s.Close()
	c := dial(t, s)
	var res SuggestResult
	raw, err := c.call(t, MethodSuggest, SuggestParams{Backend: "coq", N: 6, Theorem: &TheoremParams{Header: thm.Header, Statement: thm.Statement}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Suggestions) == 0 {
		t.Fatalf("no suggestions: %s", raw)
	}
	seenFail := false
	closed := 0
	for _, sg := range res.Suggestions {
		if sg.Checked == nil {
			t.Fatalf("unchecked suggestion %+v", sg)
		}
		if sg.Checked.OK && seenFail {
			t.Errorf("a valid suggestion ranked after a failing one: %s", raw)
		}
		if !sg.Checked.OK {
			seenFail = true
			if sg.Checked.Error == "" {
				t.Errorf("failing suggestion without an error: %+v", sg)
			}
		}
		if sg.Checked.Closed {
			closed++
		}
	}
	t.Logf("suggestions: %s", raw)
	if closed == 0 || !res.Suggestions[0].Checked.Closed || !strings.Contains(res.Suggestions[0].Tactic, "nra") {
		t.Errorf("want nra to close mathd_algebra_141 first: %s", raw)
	}
}

// TestRealCoqProveLoadsCommentedStatement: llemma/prove on amc12_2001_p5
// (a comment inside the statement, the header after a long comment block)
// loads the theorem as the minif2f runner does; the search may time out,
// but the answer is never a load error.
func TestRealCoqProveLoadsCommentedStatement(t *testing.T) {
	thm := realCoqTheorem(t, "amc12_2001_p5")
	b := coq.New(coq.Config{Workers: 1})
	s := &Server{
		Backends:       func(string) (prover.Backend, error) { return b, nil },
		Proposer:       func(name string) (prover.Proposer, error) { return &model.Portfolio{Backend: name}, nil },
		DefaultBackend: "coq",
		RequestTimeout: 2 * time.Minute,
	}
	defer s.Close()
	c := dial(t, s)
	raw, err := c.call(t, MethodProve, ProveParams{Backend: "coq", Header: thm.Header, Statement: thm.Statement,
		Budget: &BudgetParams{Expansions: 1, Samples: 2, TheoremTimeoutS: 5}})
	if err != nil {
		t.Fatal(err)
	}
	var res ProveResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status == string(prover.StatusError) {
		t.Fatalf("llemma/prove did not load amc12_2001_p5: %s", raw)
	}
}

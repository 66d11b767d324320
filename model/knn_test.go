package model

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// knnStates are goal displays as coq.Session prints them (goal 1 first).
var knnStates = map[string][]string{
	"real2": {"a, b : R\nh₀ : a * b = 180\nh₁ : 2 * (a + b) = 54\n============================\na ^ 2 + b ^ 2 = 369"},
	// The same problem with other names and other constants.
	"real2'": {"x, y : R\nH : x * y = 120\nH0 : 2 * (x + y) = 44\n============================\nx ^ 2 + y ^ 2 = 196"},
	"exists": {"n : nat\nH0 : exists x : nat, n = 2 * x\n============================\nexists m : nat, n + 2 = 2 * m"},
	// Another hypothesis name, and a variable already called x.
	"exists'":   {"x, k : nat\nhk : exists y : nat, k = 2 * y\nhx : x = 3\n============================\nexists m : nat, k + 4 = 2 * m"},
	"no-exists": {"k : nat\nhk : k = 3\n============================\nexists m : nat, k + 3 = 2 * m"},
	"nat-mod":   {"============================\n5 ^ 30 mod 7 = 1"},
	"nat-mod'":  {"============================\n3 ^ 20 mod 11 = 1"},
	"forall":    {"============================\nforall x y : R, x < y -> x + 1 < y + 1"},
	"multi":     {"n : nat\nH : n > 0\n============================\nn >= 1", "n = n"},
}

func featuresOf(goals []string) []uint64 { return stateFeatures(parseGoals(goals)) }

func TestKNNFeaturesBucketNumeralsAndPlaceholderNames(t *testing.T) {
	t.Parallel()
	// Renaming locals and changing constants within a bucket changes nothing.
	if a, b := featuresOf(knnStates["real2"]), featuresOf(knnStates["real2'"]); !slices.Equal(a, b) {
		t.Errorf("features differ between a renamed copy with other small constants:\n%v\n%v", a, b)
	}
	if a, b := featuresOf(knnStates["nat-mod"]), featuresOf(knnStates["nat-mod'"]); !slices.Equal(a, b) {
		t.Error("5^30 mod 7 = 1 and 3^20 mod 11 = 1 differ; numerals must be bucketed")
	}
	// But a bucket boundary or a different operator does change them.
	for _, other := range []string{
		"============================\n5 ^ 300 mod 7 = 1", // large
		"============================\n5 ^ 30 mod 7 = 0",  // 0
		"============================\n5 * 30 mod 7 = 1",  // * vs ^
	} {
		if slices.Equal(featuresOf(knnStates["nat-mod"]), featuresOf([]string{other})) {
			t.Errorf("features of %q equal those of 5 ^ 30 mod 7 = 1", other)
		}
	}
	for in, want := range map[string]string{"0": "#0", "000": "#0", "1": "#1", "2": "#2", "3": "#small", "57": "#small", "100": "#small", "101": "#large", "2000": "#large", "1.5": "#dec"} {
		if got := numBucket(in); got != want {
			t.Errorf("numBucket(%q) = %q, want %q", in, got, want)
		}
	}
	// Names become typed placeholders; bound names too.
	g := parseGoals(knnStates["exists"])
	toks := tokenize(g.concl)
	syms := symbols(toks, g.localNames())
	if got := strings.Join(syms, " "); got != "exists $nat : nat , $nat + #2 = #2 * $nat" {
		t.Errorf("symbols(%q) = %q", g.concl, got)
	}
	if h := parseGoals(knnStates["real2"]).hyps; len(h) != 3 || h[0].class != "R" || h[1].class != "prop" || !slices.Equal(h[0].names, []string{"a", "b"}) {
		t.Errorf("hyps = %+v", h)
	}
}

func TestKNNFeatureHashesAreStable(t *testing.T) {
	t.Parallel()
	// FNV-1a 64 of "G\x00lra": fixed by the algorithm, not by this build.
	f := featureSet{}
	f.add("G", "lra")
	if got := f.sorted(); len(got) != 1 || got[0] != 0x67b909f9d9203fdb {
		t.Errorf("hash(G, lra) = %#x", got)
	}
	a, b := featuresOf(knnStates["multi"]), featuresOf(knnStates["multi"])
	if !slices.Equal(a, b) || !slices.IsSorted(a) || len(a) < 10 {
		t.Errorf("features not deterministic/sorted: %d vs %d", len(a), len(b))
	}
	if slices.Equal(featuresOf(knnStates["multi"][:1]), a) {
		t.Error("the number of goals is not a feature")
	}
}

func TestTypeClass(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]string{
		"R": "R", "nat": "nat", "Z": "Z", "list nat": "list", "R -> R": "fun", "nat -> nat -> Prop": "fun",
		"x < y": "prop", "forall n : nat, f n = n": "prop", "prime p": "prop", "Prop": "sort",
		"~ (x = 0)": "prop", "(x > 0)%R": "prop", "Rdefinitions.R": "R",
	} {
		if got := typeClass(typ); got != want {
			t.Errorf("typeClass(%q) = %q, want %q", typ, got, want)
		}
	}
}

func rebind(t *testing.T, tactic string, from, to []string) []bound {
	t.Helper()
	g := parseGoals(from)
	tm := abstractTactic(tactic, g, describeLocals(g))
	return bind(tm, describeLocals(parseGoals(to)))
}

func TestSlotRebinding(t *testing.T) {
	t.Parallel()
	// destruct H0 as [x Hx]: H0 binds to the hypothesis of the same shape
	// (hk, not hx), and the fresh x, taken in the new state, is renamed.
	got := rebind(t, "destruct H0 as [x Hx].", knnStates["exists"], knnStates["exists'"])
	if len(got) == 0 || got[0].tactic != "destruct hk as [x0 Hx]." {
		t.Errorf("rebind destruct = %+v, want destruct hk as [x0 Hx]. first", got)
	}
	for _, b := range got[1:] {
		if b.penalty <= 0 {
			t.Errorf("alternative %q has penalty %v, want > 0", b.tactic, b.penalty)
		}
	}
	// Variables bind to variables of the same type.
	got = rebind(t, "pose proof (pow2_ge_0 (a - b)); nra.", knnStates["real2"], knnStates["real2'"])
	if len(got) == 0 || got[0].tactic != "pose proof (pow2_ge_0 (x - y)); nra." {
		t.Errorf("rebind pose proof = %+v", got)
	}
	// A tactic naming a hypothesis the new state has no counterpart for is dropped.
	if got := rebind(t, "destruct H0 as [x Hx].", knnStates["exists"], knnStates["nat-mod"]); len(got) != 0 {
		t.Errorf("rebind into a state without hypotheses = %+v, want nothing", got)
	}
	if got := rebind(t, "pose proof (pow2_ge_0 (a - b)); nra.", knnStates["real2"], knnStates["exists"]); len(got) != 0 {
		t.Errorf("real variables bound into a nat state: %+v", got)
	}
	// Global names, intros names and qualified names are kept.
	got = rebind(t, "intros x y H; apply Rplus_lt_compat_r; exact H.", knnStates["forall"], knnStates["real2'"])
	if len(got) != 1 || got[0].tactic != "intros x0 y0 H1; apply Rplus_lt_compat_r; exact H1." {
		t.Errorf("rebind intros = %+v", got)
	}
	got = rebind(t, "rewrite Nat.add_comm; lia.", knnStates["exists"], knnStates["nat-mod"])
	if len(got) != 1 || got[0].tactic != "rewrite Nat.add_comm; lia." {
		t.Errorf("rebind global = %+v", got)
	}
	// assert names and bound names in terms are fresh.
	got = rebind(t, "assert (H1 : forall x : R, a * x = x * a) by (intros; ring).", knnStates["real2"], knnStates["real2'"])
	if len(got) == 0 || got[0].tactic != "assert (H1 : forall x0 : R, x * x0 = x0 * x) by (intros; ring)." {
		t.Errorf("rebind assert = %+v", got)
	}
}

// buildModel writes a model from (state, tactic, progress) triples and loads it.
func buildModel(t *testing.T, pairs []knnPair) *KNNModel {
	t.Helper()
	b := NewKNNBuilder()
	src := b.AddSource(KNNSource{Kind: "test", Path: "inline"})
	for _, p := range pairs {
		if !b.Add(src, knnStates[p.state], p.tactic, !p.neg, 0) {
			t.Fatalf("Add(%s, %q) dropped", p.state, p.tactic)
		}
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	m, err := ReadKNN(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type knnPair struct {
	state, tactic string
	neg           bool
}

var knnTraining = []knnPair{
	{"real2", "nra.", false},
	{"real2", "pose proof (pow2_ge_0 (a - b)); nra.", false},
	{"exists", "destruct H0 as [x Hx].", false},
	{"exists", "subst; exists (x + 1); lia.", false},
	{"nat-mod", "vm_compute; reflexivity.", false},
	{"nat-mod", "reflexivity.", false},
	{"forall", "intros; lra.", false},
	{"multi", "lia.", false},
}

func TestKNNRanking(t *testing.T) {
	t.Parallel()
	k := &KNN{Model: buildModel(t, knnTraining)}
	ask := func(state string) []prover.Candidate {
		t.Helper()
		c, err := k.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: knnStates[state]}, N: 10})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for state, want := range map[string]string{
		"nat-mod'": "vm_compute; reflexivity.",
		"real2'":   "nra.",
		"exists'":  "destruct hk as [x0 Hx].",
	} {
		c := ask(state)
		if len(c) == 0 || c[0].Tactic != want {
			t.Errorf("%s: best = %v, want %q", state, c, want)
			continue
		}
		for i, cand := range c {
			if cand.Score > 0 || cand.Timeout <= 0 || (i > 0 && cand.Score > c[i-1].Score) {
				t.Errorf("%s: candidate %d %+v: scores must be <= 0 and sorted, timeouts set", state, i, cand)
			}
		}
	}
	// A stored tactic whose hypothesis has no counterpart is not proposed.
	for _, c := range ask("nat-mod") {
		if strings.Contains(c.Tactic, "destruct") || strings.Contains(c.Tactic, "H0") {
			t.Errorf("nat-mod: proposes %q, which names a missing hypothesis", c.Tactic)
		}
	}
	// The closer the state, the better the score of the same tactic.
	near, far := scoreOf(ask("nat-mod'"), "vm_compute; reflexivity."), scoreOf(ask("real2'"), "vm_compute; reflexivity.")
	if !(near > far) {
		t.Errorf("vm_compute score near %v, far %v: want near > far", near, far)
	}
	if c := ask("nat-mod"); len(c) < 2 || c[0].Score <= c[len(c)-1].Score {
		t.Errorf("no spread in scores: %v", c)
	}
	// N bounds the answer.
	c, _ := k.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: knnStates["real2'"]}, N: 1})
	if len(c) != 1 {
		t.Errorf("N=1: %d candidates", len(c))
	}
}

func scoreOf(c []prover.Candidate, tactic string) float64 {
	for _, x := range c {
		if x.Tactic == tactic {
			return x.Score
		}
	}
	return -1e9
}

func TestKNNNegativesLowerScores(t *testing.T) {
	t.Parallel()
	plain := &KNN{Model: buildModel(t, knnTraining)}
	withNeg := &KNN{Model: buildModel(t, append(slices.Clone(knnTraining), knnPair{"nat-mod", "reflexivity.", true}))}
	req := prover.ProposalRequest{State: prover.State{Goals: knnStates["nat-mod'"]}}
	a, _ := plain.Propose(context.Background(), req)
	b, _ := withNeg.Propose(context.Background(), req)
	if !(scoreOf(b, "reflexivity.") < scoreOf(a, "reflexivity.")) {
		t.Errorf("reflexivity. score with a recorded failure %v, without %v: want lower", scoreOf(b, "reflexivity."), scoreOf(a, "reflexivity."))
	}
}

func TestKNNModelRoundTripAndVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "m", "coq-knn.gz")
	b := NewKNNBuilder()
	b.SetCoq("The Coq Proof Assistant, version 8.16.1")
	src := b.AddSource(KNNSource{Kind: "trace", Path: "x/pairs.jsonl", SHA256: strings.Repeat("ab", 32)})
	b.Add(src, knnStates["real2"], "nra.", true, 30*time.Millisecond)
	b.Add(src, knnStates["real2"], "nra.", true, 10*time.Millisecond) // duplicate: counted
	b.Add(src, knnStates["real2"], "lia.", false, 0)
	if b.Add(src, knnStates["real2"], "Admitted.", true, 0) || b.Add(src, []string{"no bar"}, "lra.", true, 0) {
		t.Error("Add kept a tactic the policy refuses, or a state that is not a goal display")
	}
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m, err := LoadKNN(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	info := m.Info()
	h := m.Header
	switch {
	case h.Format != KNNFormat || h.Version != KNNFormatVersion || h.Features.Version != FeatureVersion || h.Created.IsZero():
		t.Errorf("header = %+v", h)
	case h.Pairs.Positive != 2 || h.Pairs.Negative != 1 || h.Pairs.Dropped != 2 || h.Pairs.Examples != 2 || h.Pairs.States != 1:
		t.Errorf("pair counts = %+v", h.Pairs)
	case len(h.Sources) != 1 || h.Sources[0].Pairs != 3 || h.Sources[0].SHA256 != strings.Repeat("ab", 32):
		t.Errorf("sources = %+v", h.Sources)
	case info.Bytes != int64(len(raw)) || info.Path != path || info.Indexed != 1 || !strings.HasPrefix(m.Version(), "sha256:") || len(m.Version()) != 7+64:
		t.Errorf("info = %+v, version %s", info, m.Version())
	}
	if m.pos.ex[0].count != 2 || m.pos.ex[0].ms != 30 || len(m.neg.ex) != 1 {
		t.Errorf("examples = %+v / %+v", m.pos.ex, m.neg.ex)
	}
	// The version is the file's hash: another file, another version.
	b.Add(src, knnStates["forall"], "intros; lra.", true, 0)
	path2 := filepath.Join(dir, "other.gz")
	if err := b.WriteFile(path2); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadKNN(path2)
	if err != nil || m2.Version() == m.Version() {
		t.Errorf("second model: %v, version %s (first %s)", err, m2.Version(), m.Version())
	}
	if v := ModelVersions(Merge(&Portfolio{}, &KNN{Model: m})); v["knn"] != m.Version() {
		t.Errorf("ModelVersions(portfolio+knn) = %v", v)
	}
}

func TestKNNModelRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	if _, err := ReadKNN(strings.NewReader("not gzip")); !errors.Is(err, ErrKNNModel) {
		t.Errorf("ReadKNN(garbage) = %v", err)
	}
	b := NewKNNBuilder()
	b.header.Features.Version = FeatureVersion + 1
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKNN(&buf); !errors.Is(err, ErrKNNModel) {
		t.Errorf("ReadKNN(other feature version) = %v", err)
	}
	if _, err := OpenKNN(filepath.Join(t.TempDir(), "missing.gz"), "coq"); !errors.Is(err, ErrNoKNNModel) {
		t.Errorf("OpenKNN(missing) = %v, want ErrNoKNNModel", err)
	}
	if _, err := OpenKNN("", "lean"); err == nil {
		t.Error("OpenKNN for lean: no error")
	}
	if _, err := (&KNN{}).Propose(context.Background(), prover.ProposalRequest{}); !errors.Is(err, ErrNoKNNModel) {
		t.Errorf("Propose without a model = %v", err)
	}
}

// TestKNNCandidatesPassThePolicy: whatever the model holds and whatever the
// state, nothing the proposer returns is refused by the Coq policy.
func TestKNNCandidatesPassThePolicy(t *testing.T) {
	t.Parallel()
	// Stored tactics whose re-bound form could go wrong: names that turn
	// into keywords, fresh names renamed, selectors.
	pairs := slices.Clone(knnTraining)
	for _, tac := range []string{"all: lra.", "2: lia.", "destruct H0 as [x Hx]; exists (x + 1); lia.", "intros x y H; exact H.", "apply (f_equal (fun z => z + 1)); lia."} {
		pairs = append(pairs, knnPair{"exists", tac, false}, knnPair{"real2", tac, false})
	}
	k := &KNN{Model: buildModel(t, pairs)}
	// States whose names are keywords of the policy's forbidden list.
	hostile := [][]string{
		{"Proof, Qed : nat\nAdmitted : Proof = Qed\n============================\nexists x : nat, Proof = 2 * x"},
		{"admit : R\nAxiom : admit > 0\n============================\nadmit * admit >= 0"},
		{"x : R\n============================\nx = x"},
	}
	for _, g := range knnStates {
		hostile = append(hostile, g)
	}
	total := 0
	for _, goals := range hostile {
		cands, err := k.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: goals}, N: 64})
		if err != nil {
			t.Fatal(err)
		}
		total += len(cands)
		for _, c := range cands {
			if _, err := (coq.Policy{}).Check(c.Tactic); err != nil {
				t.Errorf("state %q: candidate %q refused by the policy: %v", goals[0], c.Tactic, err)
			}
		}
	}
	if total < 50 {
		t.Errorf("only %d candidates over %d states: the check proves little", total, len(hostile))
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a := fixedProposer{name: "portfolio", cands: []prover.Candidate{
		{Tactic: "lra.", Score: -0.05, Timeout: 1500 * time.Millisecond},
		{Tactic: "nra.", Score: -0.1, Timeout: 2500 * time.Millisecond},
		{Tactic: "field.", Score: -0.3, Timeout: time.Second},
	}}
	b := fixedProposer{name: "knn", cands: []prover.Candidate{
		{Tactic: "field.", Score: -0.2, Timeout: 3 * time.Second},
		{Tactic: "nra.", Score: -0.9, Timeout: 3 * time.Second},
		{Tactic: "destruct h as [x y].", Score: -0.07, Timeout: time.Second},
	}}
	m := Merge(a, b)
	if m.Name() != "portfolio+knn" {
		t.Errorf("Name = %q", m.Name())
	}
	got, err := m.Propose(context.Background(), prover.ProposalRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := []prover.Candidate{
		{Tactic: "lra.", Score: -0.05, Timeout: 1500 * time.Millisecond},
		{Tactic: "destruct h as [x y].", Score: -0.07, Timeout: time.Second},
		{Tactic: "nra.", Score: -0.1, Timeout: 2500 * time.Millisecond},
		{Tactic: "field.", Score: -0.2, Timeout: time.Second}, // knn's score, the portfolio's leash
	}
	if !slices.Equal(got, want) {
		t.Errorf("Merge = %+v\nwant %+v", got, want)
	}
	got, _ = m.Propose(context.Background(), prover.ProposalRequest{N: 2})
	if len(got) != 2 || got[1].Tactic != "destruct h as [x y]." {
		t.Errorf("Merge N=2 = %+v", got)
	}
	boom := errors.New("boom")
	if _, err := Merge(a, fixedProposer{name: "bad", err: boom}).Propose(context.Background(), prover.ProposalRequest{}); !errors.Is(err, boom) {
		t.Errorf("Merge with a failing proposer = %v", err)
	}
}

type fixedProposer struct {
	name  string
	cands []prover.Candidate
	err   error
}

func (f fixedProposer) Name() string { return f.name }
func (f fixedProposer) Propose(context.Context, prover.ProposalRequest) ([]prover.Candidate, error) {
	return slices.Clone(f.cands), f.err
}

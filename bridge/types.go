package bridge

// The JSON-RPC methods' params and results. Field names are the wire's.

// Method names.
const (
	MethodInitialize = "initialize"
	MethodShutdown   = "shutdown"
	MethodExit       = "exit"
	MethodCancel     = "$/cancelRequest"
	MethodProgress   = "$/progress"
	MethodSuggest    = "llemma/suggest"
	MethodProve      = "llemma/prove"
	MethodCheck      = "llemma/check"
)

// Methods lists the methods a client may call, as initialize reports them.
var Methods = []string{MethodInitialize, MethodShutdown, MethodExit, MethodCancel, MethodSuggest, MethodProve, MethodCheck, MethodFill}

// InitializeParams is what the server reads of initialize's params; the
// rest (an LSP client's capabilities, rootUri, ...) is ignored.
type InitializeParams struct {
	// Token authenticates a TCP connection to a server that has one.
	Token                 string `json:"token,omitempty"`
	InitializationOptions *struct {
		Token string `json:"token,omitempty"`
	} `json:"initializationOptions,omitempty"`
}

// InitializeResult answers initialize. Capabilities is empty and there for
// LSP clients, which require it.
type InitializeResult struct {
	ServerInfo   ServerInfo `json:"serverInfo"`
	Methods      []string   `json:"methods"`
	Capabilities struct{}   `json:"capabilities"`
}

// ServerInfo names the server.
type ServerInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// CancelParams are $/cancelRequest's params: the id of the request to stop
// (a number or a string).
type CancelParams struct {
	ID any `json:"id"`
}

// TheoremParams is a theorem as header + statement, in the backend's syntax.
type TheoremParams struct {
	Header    string `json:"header"`
	Statement string `json:"statement"`
}

// SuggestParams are llemma/suggest's params.
type SuggestParams struct {
	Backend string `json:"backend"`
	// State is the proof state as the prover prints it (required unless
	// Theorem is given, whose root state is then used).
	State   string `json:"state"`
	Prefix  string `json:"prefix,omitempty"`
	Context string `json:"context,omitempty"`
	N       int    `json:"n,omitempty"`
	// Theorem, when given, has every suggestion checked on its root.
	Theorem *TheoremParams `json:"theorem,omitempty"`
}

// SuggestResult answers llemma/suggest.
type SuggestResult struct {
	Suggestions []Suggestion `json:"suggestions"`
}

// Suggestion is one ranked tactic. Score is the proposer's mean token
// log-probability (<= 0, higher is better).
type Suggestion struct {
	Tactic  string   `json:"tactic"`
	Score   float64  `json:"score"`
	Checked *Checked `json:"checked,omitempty"`
}

// Checked is a suggestion's result on the theorem's root: OK when the
// prover accepted it, Closed when no goal is left, Goals the goals after
// it (unchanged for a failing tactic), Error why it failed.
type Checked struct {
	OK     bool   `json:"ok"`
	Closed bool   `json:"closed"`
	Goals  int    `json:"goals"`
	Error  string `json:"error,omitempty"`
}

// BudgetParams override the server's default budget for one proof.
type BudgetParams struct {
	Expansions      int     `json:"expansions,omitempty"`
	Samples         int     `json:"samples,omitempty"`
	TheoremTimeoutS float64 `json:"theorem_timeout_s,omitempty"`
	TacticTimeoutS  float64 `json:"tactic_timeout_s,omitempty"`
}

// ProveParams are llemma/prove's params.
type ProveParams struct {
	Backend   string        `json:"backend"`
	Header    string        `json:"header"`
	Statement string        `json:"statement"`
	Budget    *BudgetParams `json:"budget,omitempty"`
	// WorkDoneToken (LSP) is the $/progress token when the client made one.
	WorkDoneToken any `json:"workDoneToken,omitempty"`
}

// ProveResult answers llemma/prove. FileText is the complete file the
// backend verified (proved only). Error says why when not proved.
type ProveResult struct {
	Status   string   `json:"status"`
	Proof    []string `json:"proof"`
	FileText string   `json:"file_text"`
	Axioms   []string `json:"axioms"`
	Error    string   `json:"error,omitempty"`
	// Cause names what made an error status an error (model,
	// backend-unavailable, backend-crashed, load, ...; see prover.CauseOf).
	Cause string `json:"cause,omitempty"`
}

// ProgressParams are $/progress notifications during llemma/prove.
type ProgressParams struct {
	Token any           `json:"token"`
	Value ProgressValue `json:"value"`
}

// ProgressValue is one progress report.
type ProgressValue struct {
	Kind       string `json:"kind"`
	Message    string `json:"message"`
	Percentage *int   `json:"percentage,omitempty"`
}

// CheckParams are llemma/check's params. With Statement, the file must
// prove exactly that statement as it elaborates after Header alone (an
// empty header when none is given); the file may add imports, helper
// lemmas and anything else that does not reach outside its sandbox.
type CheckParams struct {
	Backend   string  `json:"backend"`
	FileText  string  `json:"file_text"`
	Statement string  `json:"statement,omitempty"`
	Header    *string `json:"header,omitempty"`
}

// CheckResult answers llemma/check.
type CheckResult struct {
	Verified bool     `json:"verified"`
	Constant string   `json:"constant,omitempty"` // the judged constant's full name
	Type     string   `json:"type,omitempty"`     // its statement, printed in a clean context
	Axioms   []string `json:"axioms"`
	Error    string   `json:"error,omitempty"`
}

// LLMStepRequest is llmstep's POST / body.
type LLMStepRequest struct {
	TacticState string `json:"tactic_state"`
	Prefix      string `json:"prefix"`
	Context     string `json:"context"`
}

// LLMStepResponse is llmstep's answer.
type LLMStepResponse struct {
	Suggestions []string `json:"suggestions"`
}

// GenerateRequest is Lean Copilot's POST /generate body.
type GenerateRequest struct {
	Name   string `json:"name"`
	Input  string `json:"input"`
	Prefix string `json:"prefix"`
}

// GenerateResponse is Lean Copilot's answer.
type GenerateResponse struct {
	Outputs []GenerateOutput `json:"outputs"`
}

// GenerateOutput is one tactic with a score in (0, 1]: exp of the
// proposer's mean token log-probability.
type GenerateOutput struct {
	Output string  `json:"output"`
	Score  float64 `json:"score"`
}

// Package config is llemma-prove's one typed configuration. The CLI builds
// it once, at the edge, from its viper instance (flags > LLEMMA_*
// environment > --config file > the defaults defined here, once) and
// validates it; everything below the CLI (backends through their drivers,
// proposers, the runner, the bridge) takes the typed values and never reads
// flags, the environment or files itself.
//
// The schema is the struct tags (see Keys): every key has one dotted name
// (`key`, nested by section; `key:",inline"` sections add no prefix), one
// flag name (the key, or `flag`), one environment variable (LLEMMA_ and the
// key upper-cased, '.' and '-' as '_'), its default in Defaults and its
// documentation (`doc`). Fields that can change a verdict are tagged
// `verdict:"true"` so that the run's meta and --resume compare exactly
// them, and secrets are tagged `secret:"true"` so that nothing the run
// writes or logs contains them.
package config

import "time"

// Config is the whole configuration of one command.
type Config struct {
	File     string `key:"config" nofile:"true" doc:"configuration file (YAML, TOML or JSON) with the same keys, e.g. coq: {memory-limit: 8GiB}"`
	LogLevel string `key:"log-level" enum:"debug|info|warn|error" doc:"log level: debug, info, warn or error"`
	Backend  string `key:"backend" verdict:"true" doc:"proof assistant: coq, lean, isabelle, or auto (the first one installed)"`
	Proposer string `key:"proposer" verdict:"true" enum:"auto|portfolio|knn|portfolio+knn|llm" doc:"where tactics come from: portfolio (no GPU), knn (learned, no GPU), portfolio+knn, llm, or auto (llm when --model-url is set)"`
	Workers  int    `key:"workers" doc:"checker processes at most (0: the CPUs this process may use: affinity and cgroup quota)"`
	Data     string `key:"data" doc:"miniF2F directory of the backend (default data/minif2f/<backend>, see make data)"`
	JSON     bool   `key:"json" doc:"print JSON: the summary (minif2f), the result line (prove), the report (report)"`

	Search Search `key:",inline"`
	Run    Run    `key:",inline"`
	Check  Check  `key:",inline"`
	Serve  Serve  `key:",inline"`
	Report Report `key:"report"`
	Merge  Merge  `key:"merge"`

	Coq      Coq      `key:"coq"`
	Lean     Lean     `key:"lean"`
	Isabelle Isabelle `key:"isabelle"`
	Model    Model    `key:"model"`
	KNN      KNN      `key:"knn"`
}

// Search is the budget of one theorem. Zero values mean the proposer's
// default (Budgets).
type Search struct {
	Expansions     int           `key:"expansions" verdict:"true" doc:"nodes expanded per theorem (0: 100 with an LLM, 12 with the GPU-free proposers)"`
	Samples        int           `key:"samples" verdict:"true" doc:"candidates per expansion (0: 32 with an LLM, 64 otherwise)"`
	TheoremTimeout time.Duration `key:"theorem-timeout" verdict:"true" doc:"tactic time per theorem (checker CPU where measured), model waits, setup and final check excluded; the search wall time is bounded by --search-backstop (0: 600s with an LLM, 12s otherwise)"`
	TacticTimeout  time.Duration `key:"tactic-timeout" verdict:"true" doc:"time per tactic (0: 10s with an LLM, 3s otherwise)"`
	SetupTimeout   time.Duration `key:"setup-timeout" doc:"process start and load of one theorem's header and statement; past it the theorem is an error (setup-timeout), not a verdict (0: 2m)"`
	VerifyTimeout  time.Duration `key:"verify-timeout" doc:"final check of one proof; past it the theorem is an error (verify) (0: 2m)"`
	Backstop       time.Duration `key:"search-backstop" doc:"wall time of one theorem's search at most, model and checker queues included; past it the theorem is an error (model or backend: whichever was slow), not a verdict (0: 4x --theorem-timeout + 1m)"`
	Speculate      int           `key:"speculate" signed:"true" doc:"frontier nodes whose candidates are requested while the current node's are checked (0: 1; -1: none); changes when the model is asked, never what is expanded"`
	LlemmaParity   bool          `key:"llemma-parity" verdict:"true" doc:"search as Llemma's proofsearch.py: no state merging, no failure propagation (for comparisons)"`
}

// Run configures a miniF2F run (minif2f).
type Run struct {
	Split       string   `key:"split" enum:"test|valid" verdict:"true" doc:"test or valid"`
	Only        []string `key:"only" doc:"theorem names to run (comma-separated)"`
	Limit       int      `key:"limit" doc:"run only the first N theorems (0: all)"`
	Concurrency int      `key:"concurrency" doc:"theorems in parallel (0: --workers); more than --workers only queue (queue_s)"`
	Attempts    int      `key:"attempts" doc:"attempts per theorem, recorded as attempt 0..N-1 (for pass@k)"`
	Out         string   `key:"out" doc:"append results (JSON lines) to this file instead of stdout; it is locked for the run and its header goes to OUT.meta.json"`
	Resume      bool     `key:"resume" doc:"continue the run in --out: skip theorems that have a verdict (proved, failed, timeout), run error and interrupted ones again, drop a torn last line"`
	Force       bool     `key:"force" doc:"with --resume, continue even when the config differs; without it, append a new session to an existing --out"`
	Shard       string   `key:"shard" doc:"run part i of N of the split (i/N, by theorem name); default: from a Slurm array or a Kubernetes Indexed Job"`
	Shards      int      `key:"shards" doc:"number of shards when the index comes from the environment (Kubernetes JOB_COMPLETION_INDEX; Slurm: default the array size)"`
	Trace       string   `key:"trace" doc:"write each attempt's search tree and its (state, tactic) pairs, failed tactics included, under DIR/<system>/<run id>/ (append-only, one directory per run: shards and systems can share DIR)"`
	Breaker     int      `key:"breaker" doc:"circuit breaker: stop the run (exit 3) when this many theorems in a row end in error with the same cause (0: never)"`

	Mode Mode `key:",inline"`
}

// Mode is the proof mode of minif2f (and prove): how a theorem becomes a
// file for the final verifier. It is part of the system's identity.
type Mode struct {
	Mode         string        `key:"mode" enum:"step|whole-proof|sketch" verdict:"true" doc:"proof mode: step (best-first search, one tactic at a time), whole-proof (the model writes complete proofs, each judged by the final verifier), or sketch (Draft-Sketch-Prove: the model writes a sketch with holes from the informal proof, the GPU-free search closes them)"`
	RepairRounds int           `key:"repair-rounds" verdict:"true" doc:"whole-proof: repairs after a rejected proof, each given the failed attempt and the checker's first error (0: none)"`
	Proofs       int           `key:"proofs" verdict:"true" doc:"whole-proof and sketch: samples per theorem, the n of pass@k, each a result line with its attempt number (0: --attempts)"`
	SketchFrom   string        `key:"sketch-from" verdict:"true" doc:"sketch: take the sketches from FILE (JSON lines {name, sketch}, or a source file whose theorems have holes) instead of the model; theorems without one use the model, if any"`
	Informal     string        `key:"informal" doc:"sketch: the informal statements and proofs, JSON lines {problem_name, informal_statement, informal_proof} (default: informal/minif2f-informal.jsonl beside the backend's data)"`
	HoleTimeout  time.Duration `key:"hole-timeout" verdict:"true" doc:"sketch and fill: wall time of the search of one hole (0: --theorem-timeout)"`
}

// Check configures check and prove.
type Check struct {
	Name        string   `key:"name" doc:"the theorem to prove or judge (default: the file's last theorem)"`
	StatementOf string   `key:"statement-of" doc:"require the file to prove exactly this benchmark theorem's statement (from --data)"`
	AllowAxiom  []string `key:"allow-axiom" doc:"accept this axiom (full name, e.g. LlemmaSolution.Solution.my_axiom); repeatable"`
}

// Serve configures the editor bridge (serve).
type Serve struct {
	Stdio          bool          `key:"stdio" doc:"JSON-RPC on stdin/stdout (the default when no --listen or --http is given); ends when the client exits"`
	Listen         string        `key:"listen" doc:"JSON-RPC over TCP on ADDR, e.g. 127.0.0.1:6001"`
	HTTP           string        `key:"http" doc:"HTTP on ADDR for llmstep (POST /) and Lean Copilot (POST /generate), e.g. 127.0.0.1:23337"`
	AllowRemote    bool          `key:"allow-remote" doc:"allow non-loopback addresses (requires --token-file)"`
	TokenFile      string        `key:"token-file" doc:"file holding a token that clients must send (HTTP: Authorization: Bearer; JSON-RPC over TCP: initialize {token})"`
	MaxConcurrent  int           `key:"max-concurrent" doc:"requests running at once; more are refused as busy (HTTP 503, JSON-RPC -32002)"`
	RequestTimeout time.Duration `key:"request-timeout" doc:"wall time per suggest, check and HTTP request"`
	MaxBody        int64         `key:"max-body" unit:"bytes" doc:"largest HTTP body or JSON-RPC message"`
	Suggestions    int           `key:"suggestions" doc:"suggestions per request when the client does not say"`
}

// Report configures report.
type Report struct {
	HTML       string `key:"html" flag:"html" doc:"write a self-contained HTML report (inline SVG plots) to FILE"`
	Markdown   string `key:"md" flag:"md" doc:"write a Markdown report to FILE"`
	LlemmaJSON string `key:"llemma-json" flag:"llemma-json" doc:"export to FILE in Llemma's formal2formal results schema (one system)"`
	Trace      string `key:"trace" flag:"trace" doc:"--trace directory of the runs: the HTML report draws each search tree, --llemma-json adds the proofs' states and scores"`
	// ExportPairs writes the reported results' proof steps for fine-tuning.
	ExportPairs string `key:"export-pairs" flag:"export-pairs" doc:"write the proof steps of the reported results (from --trace) to FILE as prompt/completion JSON lines for fine-tuning"`
}

// Merge configures merge.
type Merge struct {
	Split   string `key:"split" flag:"split" enum:"|test|valid" doc:"split for --data: test or valid (default: both)"`
	Backend string `key:"backend" flag:"backend" doc:"backend for --data (default: each backend in the inputs)"`
	Force   bool   `key:"force" flag:"force" doc:"overwrite OUT when it exists"`
	// AllowConflicts writes OUT despite conflicts (exit 0).
	AllowConflicts bool `key:"allow-conflicts" flag:"allow-conflicts" doc:"write OUT even when the inputs conflict (different statements, verdicts or configs); without it merge exits 1 and writes nothing"`
}

// Budget is a resolved search budget.
type Budget struct {
	Expansions, Samples           int
	TheoremTimeout, TacticTimeout time.Duration
}

// Budgets are the defaults, written once: Llemma's evaluation budget with
// an LLM, and the GPU-free proposers' budget, tuned so that a miniF2F split
// runs in minutes on two cores.
var Budgets = struct{ LLM, GPUFree Budget }{
	LLM:     Budget{Expansions: 100, Samples: 32, TheoremTimeout: 600 * time.Second, TacticTimeout: 10 * time.Second},
	GPUFree: Budget{Expansions: 12, Samples: 64, TheoremTimeout: 12 * time.Second, TacticTimeout: 3 * time.Second},
}

// Resolve fills the zero fields of s from the proposer's defaults.
func (s Search) Resolve(llm bool) Budget {
	b := Budgets.GPUFree
	if llm {
		b = Budgets.LLM
	}
	if s.Expansions > 0 {
		b.Expansions = s.Expansions
	}
	if s.Samples > 0 {
		b.Samples = s.Samples
	}
	if s.TheoremTimeout > 0 {
		b.TheoremTimeout = s.TheoremTimeout
	}
	if s.TacticTimeout > 0 {
		b.TacticTimeout = s.TacticTimeout
	}
	return b
}

// Resolved is s with its budget fields resolved (for the meta).
func (s Search) Resolved(llm bool) Search {
	b := s.Resolve(llm)
	s.Expansions, s.Samples, s.TheoremTimeout, s.TacticTimeout = b.Expansions, b.Samples, b.TheoremTimeout, b.TacticTimeout
	return s
}

// Coq configures the Coq backend.
type Coq struct {
	Coqtop      string   `key:"coqtop" doc:"coqtop command"`
	Coqc        string   `key:"coqc" doc:"coqc command"`
	Coqchk      string   `key:"coqchk" doc:"coqchk command"`
	MemoryLimit int64    `key:"memory-limit" unit:"bytes" verdict:"true" doc:"address-space limit per Coq process"`
	Interval    bool     `key:"interval" verdict:"true" doc:"load libcoq-interval's interval tactic (apt-get install -y libcoq-interval) and propose it"`
	MaxUses     int      `key:"max-uses" doc:"recycle a warm coqtop after this many theorems"`
	Processes   int      `key:"processes" doc:"coqtops kept alive, parked ones included (0: as many as --workers); more lets a search parked through a model wait keep its coqtop, about 250 MB each"`
	AllowAxioms []string `key:"allow-axioms" verdict:"true" doc:"replace the allow-list of axioms, by full path (default: the stdlib's real-number and classical axioms)"`
}

// Lean configures the Lean 4 backend.
type Lean struct {
	Repl              string `key:"repl" doc:"command that starts one Lean REPL (run in --lean.project)"`
	Project           string `key:"project" doc:"the Lake project the REPL runs in (default: the miniF2F data directory)"`
	MemoryLimit       int64  `key:"memory-limit" unit:"bytes" verdict:"true" doc:"address-space limit per REPL (Mathlib needs about 9GiB)"`
	MaxRequests       int    `key:"max-requests" doc:"recycle a REPL after this many requests (0: the backend's default)"`
	AllowNativeDecide bool   `key:"allow-native-decide" verdict:"true" doc:"accept native_decide (adds the axiom Lean.ofReduceBool)"`
}

// Isabelle configures the Isabelle backend.
type Isabelle struct {
	Server   string `key:"server" doc:"command that starts an Isabelle server"`
	Address  string `key:"address" doc:"reuse a running Isabelle server at HOST:PORT (with --isabelle.password)"`
	Password string `key:"password" secret:"true" doc:"password of the running Isabelle server (prefer LLEMMA_ISABELLE_PASSWORD: a flag shows in ps)"`
	Session  string `key:"session" verdict:"true" doc:"Isabelle session the theorems run in"`
}

// Model configures the LLM proposer.
type Model struct {
	URLs        []string `key:"url" flag:"model-url" doc:"LLM runtime base URL(s), e.g. http://127.0.0.1:8000 (vLLM); several spread the load"`
	Name        string   `key:"name" flag:"model" verdict:"true" doc:"served model name, e.g. EleutherAI/llemma_7b"`
	API         string   `key:"api" flag:"model-api" verdict:"true" enum:"openai|chat|ollama|llamacpp" doc:"runtime API: openai (vLLM, SGLang, llama.cpp /v1/completions), chat (/v1/chat/completions, the server's chat template), ollama (/api/generate) or llamacpp (llama-server's /completion)"`
	Temperature float64  `key:"temperature" flag:"temperature" verdict:"true" doc:"sampling temperature; 0 is greedy (one sample), or beam search with --beam (Llemma: 32 beams at 0)"`
	Beam        bool     `key:"beam" flag:"beam" verdict:"true" doc:"beam search on vLLM (use_beam_search), as Llemma's evaluation"`
	Seed        int64    `key:"seed" flag:"seed" signed:"true" verdict:"true" doc:"sampling seed (-1: none)"`
	Prompt      string   `key:"prompt" flag:"prompt" verdict:"true" doc:"prompt format: llemma, llemma-original (Llemma's own prompt, Lean), goal-proofstep, goal-proofstep-inline, chat, or a template file"`
	Launch      string   `key:"launch" flag:"model-launch" doc:"command that starts the runtime (e.g. 'vllm serve EleutherAI/llemma_7b'); stopped when the command ends"`
	APIKey      string   `key:"api-key" flag:"model-api-key" secret:"true" doc:"bearer token for the runtime (prefer LLEMMA_MODEL_API_KEY: a flag shows in ps)"`

	APIKeyFile      string        `key:"api-key-file" flag:"model-api-key-file" doc:"file holding the runtime's bearer token (wins over --model-api-key; then LLEMMA_MODEL_API_KEY, then OPENAI_API_KEY)"`
	System          string        `key:"system" verdict:"true" doc:"chat API: the system message (empty: none)"`
	MaxTokens       int           `key:"max-tokens" verdict:"true" doc:"new tokens per completion (0: 256)"`
	Context         int           `key:"context" verdict:"true" doc:"the model's context window in tokens; longer states are cut to fit (0: 4096)"`
	TopP            float64       `key:"top-p" verdict:"true" doc:"nucleus sampling (0: 1.0, off)"`
	TopK            int           `key:"top-k" signed:"true" verdict:"true" doc:"top-k sampling, sent as given (0: not sent, the runtime's default; with llamacpp: off)"`
	MinP            float64       `key:"min-p" verdict:"true" doc:"min-p sampling (0: not sent, the runtime's default; with llamacpp: off)"`
	Stop            []string      `key:"stop" verdict:"true" doc:"stop strings (empty: the prompt format's, e.g. --- for llemma)"`
	Logprobs        int           `key:"logprobs" signed:"true" verdict:"true" doc:"alternatives asked per token; the sampled token's logprob always comes back (0: 1, since SGLang and llama.cpp return none for 0; -1: send 0)"`
	RequireLogprobs bool          `key:"require-logprobs" verdict:"true" doc:"fail a proposal whose answer has no logprobs instead of trying its candidates in proposal order"`
	Extra           string        `key:"extra" verdict:"true" doc:"JSON object of extra fields for every request body, e.g. {\"cache_salt\":\"x\"}"`
	Timeout         time.Duration `key:"timeout" doc:"one HTTP attempt, body included (0: 2m)"`
	Retries         int           `key:"retries" signed:"true" doc:"attempts after a failed one (0: 3; -1: none); 429s wait for Retry-After"`
	InFlight        int           `key:"inflight" doc:"requests in flight per endpoint at the start; the limit then adapts to latency and 429s (0: 8)"`
	MaxInFlight     int           `key:"max-inflight" doc:"ceiling of the adaptive in-flight limit per endpoint; the total is endpoints x this (0: 64; equal to --model.inflight: fixed)"`
	BatchPrompts    int           `key:"batch-prompts" doc:"states per request when several are proposed at once (0: 8)"`
}

// KNN configures the learned proposer.
type KNN struct {
	Model string `key:"model" flag:"knn-model" verdict:"true" doc:"k-NN model file for --proposer knn (empty: the file llemma-prove train writes by default); its sha256 goes into the meta"`
}

// Defaults is the configuration when nothing is set: the one place the
// defaults are written.
func Defaults() Config {
	return Config{
		Backend:  "auto",
		Proposer: "auto",
		LogLevel: "warn",
		Run:      Run{Split: "test", Attempts: 1, Breaker: 3, Mode: Mode{Mode: "step"}},
		Serve: Serve{
			MaxConcurrent: 4, RequestTimeout: 60 * time.Second, MaxBody: 1 << 20, Suggestions: 8,
		},
		Coq: Coq{
			Coqtop: "coqtop", Coqc: "coqc", Coqchk: "coqchk",
			MemoryLimit: 4 << 30, MaxUses: 20,
		},
		Lean: Lean{Repl: "lake env repl", MemoryLimit: 12 << 30},
		Isabelle: Isabelle{
			Server: "isabelle server", Session: "HOL",
		},
		Model: Model{API: "openai", Temperature: 1.0, Seed: -1, Prompt: "llemma"},
	}
}

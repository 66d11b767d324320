package lean

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Policy is the Lean 4 tactic policy (it lived in package prover as
// LeanPolicy). A candidate is one tactic (it may span lines: continuation
// lines must be indented). It may not give up a goal (sorry, admit), skip
// the kernel (native_decide unless allowed, debug options), search for a
// proof and print it (exact?, apply?, hint...), run code or IO (run_tac,
// #eval, IO...), or smuggle a command (theorem, axiom, import, macro,
// attribute, namespace, end...). The theorem's own name is not checked
// here: a self-reference fails the final check (termination) and the
// tactic-mode kernel check.
type Policy struct {
	// MaxLen bounds the candidate's length in bytes (default 2000).
	MaxLen int
	// AllowNativeDecide admits native_decide (and decide +native), whose
	// proofs rest on the axiom Lean.ofReduceBool.
	AllowNativeDecide bool
}

var _ prover.Policy = Policy{}

var (
	// A Lean identifier, dotted names and a trailing ? or ! included.
	leanWord = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_'!?]*(?:\.[\p{L}_][\p{L}\p{N}_'!?]*)*`)
	// `set_option NAME`.
	leanSetOption = regexp.MustCompile(`set_option\s+([\p{L}_][\p{L}\p{N}_'.]*)`)
	// `open NAMES in`: a local open, allowed; a bare open is a command.
	leanOpenIn = regexp.MustCompile(`^open(?:\s+[\p{L}_][\p{L}\p{N}_'.]*)+\s+in\b`)
)

// Words that end or leave the proof, are commands, or run code. Matched
// against whole identifiers and against each component of a dotted name.
var leanForbidden = map[string]string{
	"sorry": "sorry", "admit": "sorry", "sorryAx": "sorry",
	"stop": "sorry", // `stop` discards the rest of the block with sorry

	"run_tac": "meta", "run_cmd": "meta", "run_elab": "meta", "run_meta": "meta",
	"by_elab": "meta", "unsafe": "meta", "implemented_by": "meta", "extern": "meta",
	"dbg_trace": "meta", "dbgTrace": "meta", "unsafeIO": "meta", "unsafeBaseIO": "meta",
	"unsafeEIO": "meta", "unsafeCast": "meta", "IO": "io", "EIO": "io", "BaseIO": "io",
	"System": "io", "ofReduceBool": "native", "reduceBool": "native", "trustCompiler": "native",

	"hint": "search", "library_search": "search", "rw_search": "search", "says": "search",
	"polyrith": "search", // calls a web service
	"suggest":  "search", "observe": "search", "show_term": "search",

	"theorem": "command", "lemma": "command", "axiom": "command", "axioms": "command",
	"def": "command", "abbrev": "command", "example": "command", "instance": "command",
	"structure": "command", "class": "command", "inductive": "command", "opaque": "command",
	"import": "command", "namespace": "command", "section": "command", "end": "command",
	"elab": "command", "elab_rules": "command", "macro": "command", "macro_rules": "command",
	"syntax": "command", "notation": "command", "infix": "command", "infixl": "command",
	"infixr": "command", "prefix": "command", "postfix": "command", "attribute": "command",
	"local": "command", "scoped": "command", "universe": "command", "variable": "command",
	"mutual": "command", "noncomputable": "command", "private": "command", "protected": "command",
	"partial": "command", "initialize": "command", "builtin_initialize": "command",
	"export": "command", "deriving": "command", "declare_syntax_cat": "command",
	"omit": "command", "include": "command", "add_decl_doc": "command", "csimp": "command",
}

// set_option names a tactic may set locally (`set_option NAME v in tac`).
var leanAllowedOptions = map[string]bool{
	"maxHeartbeats":                  true,
	"maxRecDepth":                    true,
	"synthInstance.maxHeartbeats":    true,
	"synthInstance.maxSize":          true,
	"exponentiation.threshold":       true,
	"linarith.maxSteps":              true,
	"tactic.simp.trace":              true,
	"pp.all":                         true,
	"pp.proofs":                      true,
	"simprocs":                       true,
	"maxSynthPendingDepth":           true,
	"tactic.hygienic":                true,
	"Elab.async":                     true,
	"linter.unusedVariables":         true,
	"linter.unnecessarySimpa":        true,
	"linter.unusedTactic":            true,
	"linter.unreachableTactic":       true,
	"linter.style.multiGoal":         true,
	"trace.Meta.Tactic.simp":         true,
	"push_neg.use_distrib":           true,
	"trace.Meta.Tactic.simp.rewrite": true,
}

// Check accepts one Lean tactic and returns it normalised: outer white
// space trimmed, trailing white space and blank lines removed.
func (p Policy) Check(tactic string) (string, error) {
	t, err := prover.TrimTactic(tactic, p.MaxLen)
	if err != nil {
		return "", err
	}
	switch {
	case strings.Contains(t, "--") || strings.Contains(t, "/-"):
		return "", prover.Reject("comment", "comments are not proof steps")
	}
	for _, r := range t {
		switch {
		case r == '\t':
			return "", prover.Reject("encoding", "tab character (Lean rejects tabs)")
		case r != '\n' && unicode.IsControl(r):
			return "", prover.Reject("encoding", "control character %U", r)
		case r == '\u2028' || r == '\u2029' || r == '\ufeff':
			return "", prover.Reject("encoding", "character %U", r)
		}
	}
	// Normalise lines; a continuation line must be indented, or it would
	// start a new tactic (or command) at the block's column.
	var lines []string
	for i, line := range strings.Split(t, "\n") {
		line = strings.TrimRight(line, " \r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if i > 0 && !strings.HasPrefix(line, " ") {
			return "", prover.Reject("indentation", "continuation line %q must be indented", line)
		}
		lines = append(lines, line)
	}
	t = strings.Join(lines, "\n")

	if strings.Contains(t, "@[") {
		return "", prover.Reject("command", "attributes are not proof steps")
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '#' && (i+1 == len(t) || t[i+1] != '[') {
			return "", prover.Reject("command", "%q: # commands are not tactics", firstLeanWord(t[i:]))
		}
	}
	for _, m := range leanSetOption.FindAllStringSubmatch(t, -1) {
		if !leanAllowedOptions[m[1]] {
			return "", prover.Reject("set-option", "option %s may not be set by a tactic", m[1])
		}
	}
	for _, loc := range leanWord.FindAllStringIndex(t, -1) {
		w := t[loc[0]:loc[1]]
		// exact?, apply?, rw?, simp?, aesop?...: a bare name ending in ?
		// (dotted names such as List.get? are functions, not tactics).
		if strings.HasSuffix(w, "?") && !strings.Contains(w, ".") {
			return "", prover.Reject("search", "%q searches for a proof instead of giving one", w)
		}
		if w == "open" {
			if !leanOpenIn.MatchString(t[loc[0]:]) {
				return "", prover.Reject("command", "`open` is allowed only as `open ... in`")
			}
			continue
		}
		if (w == "native_decide" || w == "native") && !p.AllowNativeDecide {
			return "", prover.Reject("native", "%q trusts the compiler (Lean.ofReduceBool)", w)
		}
		if rule, bad := leanForbidden[w]; bad {
			return "", prover.Reject(rule, "%q", w)
		}
		for _, part := range strings.Split(w, ".") {
			if rule, bad := leanForbidden[part]; bad {
				return "", prover.Reject(rule, "%q", w)
			}
			if (part == "native_decide") && !p.AllowNativeDecide {
				return "", prover.Reject("native", "%q", w)
			}
		}
	}
	return t, nil
}

func firstLeanWord(s string) string {
	if i := strings.IndexFunc(s, unicode.IsSpace); i > 0 {
		return s[:i]
	}
	return s
}

package model

import (
	"sort"
	"strconv"
	"strings"
)

// Tactics are stored abstracted: each local name of the state the tactic
// was recorded in (a hypothesis, a variable) becomes a slot that carries
// the role it played there (its type's class and features, whether it
// occurs in the conclusion, its position), and names the tactic introduces
// itself (intros x, as [x Hx], assert (H1 : ...)) are fresh. At proposal
// time each slot is re-bound to the current state's local of the same role
// that matches best, fresh names are renamed away from the current names,
// and a tactic whose slot finds nothing to bind to is dropped.

type pieceKind uint8

const (
	pieceLit   pieceKind = iota // text kept as is
	pieceSlot                   // a local name of the recorded state
	pieceFresh                  // a name the tactic introduces
)

type piece struct {
	kind pieceKind
	text string // the literal text, or the recorded name
	slot int    // index into tacTemplate.slots for pieceSlot
}

// slotRole is what a local name was in the recorded state.
type slotRole struct {
	name    string
	hyp     bool     // a hypothesis (proof of a proposition), else a variable
	class   string   // its type's class (prop for hypotheses)
	feats   []uint64 // sorted
	inConcl bool
	order   int // position among the locals of its kind and class
}

// tacTemplate is an abstracted tactic.
type tacTemplate struct {
	pieces []piece
	slots  []slotRole
}

// localInfo describes the locals of one state for slot binding.
type localInfo struct {
	roles []slotRole
	names map[string]bool
}

// describeLocals computes the role of every local name of g.
func describeLocals(g goalState) localInfo {
	info := localInfo{names: map[string]bool{}}
	locals := g.localNames()
	conclToks := tokenize(g.concl)
	conclSyms := symbols(conclToks, locals)
	inConcl := map[string]bool{}
	ctx := map[string]*featureSet{}
	for i, t := range conclToks {
		if t.kind != tokIdent {
			continue
		}
		if _, ok := locals[t.s]; !ok {
			continue
		}
		inConcl[t.s] = true
		f := ctx[t.s]
		if f == nil {
			f = &featureSet{}
			ctx[t.s] = f
		}
		if i > 0 {
			f.add("L", conclSyms[i-1])
		}
		if i+1 < len(conclSyms) {
			f.add("R", conclSyms[i+1])
		}
	}
	order := map[string]int{}
	for _, h := range g.hyps {
		isHyp := h.class == "prop"
		var feats []uint64
		if isHyp {
			feats = hypFeatures(h.typ, locals)
		}
		for _, n := range h.names {
			info.names[n] = true
			f := feats
			if !isHyp && ctx[n] != nil {
				f = ctx[n].sorted()
			}
			key := h.class
			info.roles = append(info.roles, slotRole{name: n, hyp: isHyp, class: h.class, feats: f, inConcl: inConcl[n], order: order[key]})
			order[key]++
		}
	}
	return info
}

// introWords introduce fresh names for the identifiers that follow them.
var introWords = map[string]bool{"intros": true, "intro": true, "eintros": true}

// namingWords introduce a fresh name as `word (NAME : ...)` or `word (NAME := ...)`.
var namingWords = map[string]bool{
	"assert": true, "eassert": true, "enough": true, "set": true, "pose": true, "epose": true,
	"cut": true, "remember": true, "have": true, "evar": true,
}

// abstractTactic turns tactic, recorded in state g, into a template.
func abstractTactic(tactic string, g goalState, info localInfo) tacTemplate {
	toks := tokenize(tactic)
	var tm tacTemplate
	slotOf := map[string]int{}
	fresh := map[string]bool{}
	roleOf := map[string]int{}
	for i, r := range info.roles {
		roleOf[r.name] = i
	}
	last := 0
	emit := func(t token, p piece) {
		if t.start > last {
			tm.pieces = append(tm.pieces, piece{kind: pieceLit, text: tactic[last:t.start]})
		}
		tm.pieces = append(tm.pieces, p)
		last = t.start + len(t.s)
	}
	introDepth := -1 // >= 0: inside intros, at this depth
	patternDepth := -1
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokOpen:
			depth++
			continue
		case tokClose:
			depth--
			if patternDepth >= 0 && depth <= patternDepth {
				patternDepth = -1
			}
			if introDepth >= 0 && depth < introDepth {
				introDepth = -1
			}
			continue
		case tokOp:
			if (t.s == ";" || t.s == "||" || t.s == "." || strings.HasPrefix(t.s, ";")) && introDepth >= 0 && depth <= introDepth {
				introDepth = -1
			}
			continue
		case tokIdent:
		default:
			continue
		}
		isFresh := false
		switch {
		case introDepth >= 0 || patternDepth >= 0:
			isFresh = true
		case introWords[t.s]:
			introDepth = depth
			continue
		case t.s == "as" && i+1 < len(toks):
			if toks[i+1].kind == tokOpen {
				patternDepth = depth
			} else if toks[i+1].kind == tokIdent {
				i++
				emit(toks[i], piece{kind: pieceFresh, text: toks[i].s})
				fresh[toks[i].s] = true
			}
			continue
		case t.s == "eqn" && i+2 < len(toks) && toks[i+1].s == ":" && toks[i+2].kind == tokIdent:
			i += 2
			emit(toks[i], piece{kind: pieceFresh, text: toks[i].s})
			fresh[toks[i].s] = true
			continue
		case namingWords[t.s] && i+3 < len(toks) && toks[i+1].s == "(" && toks[i+2].kind == tokIdent && (toks[i+3].s == ":" || toks[i+3].s == ":="):
			emit(toks[i+2], piece{kind: pieceFresh, text: toks[i+2].s})
			fresh[toks[i+2].s] = true
			depth++
			i += 2
			continue
		case binders[t.s] && !(t.s == "exists" && commandPosition(toks, i)):
			for j := i + 1; j < len(toks) && j <= i+maxBinderTokens && toks[j].s != "," && toks[j].s != "=>"; j++ {
				if toks[j].s == ":" {
					// Skip the type up to the closing parenthesis or the comma.
					for j+1 < len(toks) && j < i+maxBinderTokens && toks[j+1].s != ")" && toks[j+1].s != "," {
						j++
					}
					continue
				}
				if toks[j].kind == tokIdent {
					fresh[toks[j].s] = true
				}
			}
			continue
		}
		if strings.Contains(t.s, ".") {
			continue // a qualified name is global
		}
		if isFresh || fresh[t.s] {
			fresh[t.s] = true
			emit(t, piece{kind: pieceFresh, text: t.s})
			continue
		}
		if ri, ok := roleOf[t.s]; ok {
			si, seen := slotOf[t.s]
			if !seen {
				si = len(tm.slots)
				slotOf[t.s] = si
				tm.slots = append(tm.slots, info.roles[ri])
			}
			emit(t, piece{kind: pieceSlot, text: t.s, slot: si})
		}
	}
	if last < len(tactic) {
		tm.pieces = append(tm.pieces, piece{kind: pieceLit, text: tactic[last:]})
	}
	return tm
}

// commandPosition reports whether toks[i] starts a tactic (first token, or
// after ';', '|', '[' ...), where `exists` is the witness tactic.
func commandPosition(toks []token, i int) bool {
	if i == 0 {
		return true
	}
	p := toks[i-1].s
	return strings.HasSuffix(p, ";") || p == "|" || p == "||" || p == "[" || p == "(" || p == ":" ||
		p == "try" || p == "repeat" || p == "progress" || p == "now" || p == "solve"
}

// bound is one way of filling a template in a state.
type bound struct {
	tactic  string
	penalty float64 // >= 0: how much worse the roles match than the best binding
}

// maxAltBindings bounds the alternative bindings of a one-slot template.
const maxAltBindings = 2

// bind fills tm in the state described by cur: the best binding first,
// then for one-slot templates up to maxAltBindings others. Nothing is
// returned when a slot has no local of its role to bind to.
func bind(tm tacTemplate, cur localInfo) []bound {
	if len(tm.slots) == 0 {
		return []bound{{tactic: fill(tm, nil, cur)}}
	}
	type choice struct {
		local int
		score float64
	}
	options := make([][]choice, len(tm.slots))
	for si, s := range tm.slots {
		for li, l := range cur.roles {
			if l.hyp != s.hyp || l.class != s.class {
				continue
			}
			sc := jaccard(s.feats, l.feats)
			if s.inConcl == l.inConcl {
				sc += 0.2
			}
			d := s.order - l.order
			if d < 0 {
				d = -d
			}
			sc += 0.1 / float64(1+d)
			options[si] = append(options[si], choice{li, sc})
		}
		if len(options[si]) == 0 {
			return nil
		}
		sort.SliceStable(options[si], func(a, b int) bool { return options[si][a].score > options[si][b].score })
	}
	// Greedy: each slot takes its best local not taken by an earlier slot.
	used := map[int]bool{}
	assign := make([]int, len(tm.slots))
	for si := range tm.slots {
		found := false
		for _, c := range options[si] {
			if !used[c.local] {
				assign[si], used[c.local], found = c.local, true, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	out := []bound{{tactic: fill(tm, assign, cur)}}
	if len(tm.slots) == 1 {
		best := options[0][0].score
		for _, c := range options[0][1:] {
			if len(out) > maxAltBindings {
				break
			}
			out = append(out, bound{tactic: fill(tm, []int{c.local}, cur), penalty: best - c.score})
		}
	}
	return out
}

// fill writes the tactic for one assignment of slots to locals; fresh
// names that clash with the state's names (or the bound ones) are renamed.
func fill(tm tacTemplate, assign []int, cur localInfo) string {
	var b strings.Builder
	rename := map[string]string{}
	taken := func(n string) bool { return cur.names[n] }
	for _, p := range tm.pieces {
		switch p.kind {
		case pieceLit:
			b.WriteString(p.text)
		case pieceSlot:
			b.WriteString(cur.roles[assign[p.slot]].name)
		case pieceFresh:
			n, ok := rename[p.text]
			if !ok {
				n = p.text
				if taken(n) {
					for k := 0; ; k++ {
						c := p.text + strconv.Itoa(k)
						if !taken(c) && !renamedTo(rename, c) {
							n = c
							break
						}
					}
				}
				rename[p.text] = n
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

func renamedTo(m map[string]string, n string) bool {
	for _, v := range m {
		if v == n {
			return true
		}
	}
	return false
}

// jaccard is |a ∩ b| / |a ∪ b| of two sorted sets (1 for two empty ones).
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is the type of a key's value.
type Kind uint8

// The kinds of values a key can hold.
const (
	String Kind = iota
	Bool
	Int      // a whole number >= 0 (or any, for signed keys)
	Bytes    // a size: 4GiB, 512MiB, or a number of bytes
	Float    // a number >= 0
	Duration // 30s, 10m, or a number of seconds
	List     // comma-separated strings
)

// Key is one entry of the schema, derived from Config's struct tags.
type Key struct {
	Name    string // the dotted key of files and of viper, e.g. "coq.memory-limit"
	Flag    string // the flag name, without dashes, e.g. "coq.memory-limit" or "model-url"
	Env     string // the environment variable, e.g. "LLEMMA_COQ_MEMORY_LIMIT"
	Doc     string
	Kind    Kind
	Section string   // the first part of a dotted name ("" for top-level keys)
	Enum    []string // allowed values of a string key ("" among them: may be empty)
	Verdict bool     // can change a verdict: in the run's meta and the resume check
	Secret  bool     // never written or logged
	NoFile  bool     // not allowed in a configuration file (the file's own path)
	signed  bool
	index   []int
}

// EnvName is the environment variable of a dotted key.
func EnvName(key string) string {
	return "LLEMMA_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(key))
}

var (
	schemaOnce sync.Once
	schema     []Key
	byName     map[string]int
)

// Keys is the schema: every key of Config, in declaration order.
func Keys() []Key {
	schemaOnce.Do(buildSchema)
	return schema
}

// Lookup returns the key called name.
func Lookup(name string) (Key, bool) {
	schemaOnce.Do(buildSchema)
	i, ok := byName[strings.ToLower(name)]
	if !ok {
		return Key{}, false
	}
	return schema[i], true
}

func buildSchema() {
	byName = map[string]int{}
	walk(reflect.TypeFor[Config](), "", nil)
	env := map[string]string{}
	for i, k := range schema {
		if _, dup := byName[k.Name]; dup {
			panic("config: duplicate key " + k.Name)
		}
		if other, dup := env[k.Env]; dup {
			panic("config: keys " + other + " and " + k.Name + " share " + k.Env)
		}
		byName[k.Name], env[k.Env] = i, k.Name
	}
}

func walk(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("key")
		if !ok {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			if tag == ",inline" {
				walk(f.Type, prefix, idx)
			} else {
				walk(f.Type, prefix+tag+".", idx)
			}
			continue
		}
		k := Key{
			Name: prefix + tag, Doc: f.Tag.Get("doc"), index: idx,
			Verdict: f.Tag.Get("verdict") == "true", Secret: f.Tag.Get("secret") == "true",
			NoFile: f.Tag.Get("nofile") == "true", signed: f.Tag.Get("signed") == "true",
		}
		k.Flag = f.Tag.Get("flag")
		if k.Flag == "" {
			k.Flag = k.Name
		}
		k.Env = EnvName(k.Name)
		if s, _, ok := strings.Cut(k.Name, "."); ok {
			k.Section = s
		}
		if e, ok := f.Tag.Lookup("enum"); ok {
			k.Enum = strings.Split(e, "|")
		}
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			k.Kind = Duration
		case f.Type.Kind() == reflect.String:
			k.Kind = String
		case f.Type.Kind() == reflect.Bool:
			k.Kind = Bool
		case f.Type.Kind() == reflect.Int64 && f.Tag.Get("unit") == "bytes":
			k.Kind = Bytes
		case f.Type.Kind() == reflect.Int, f.Type.Kind() == reflect.Int64:
			k.Kind = Int
		case f.Type.Kind() == reflect.Float64:
			k.Kind = Float
		case f.Type == reflect.TypeFor[[]string]():
			k.Kind = List
		default:
			panic("config: unsupported type of " + k.Name + ": " + f.Type.String())
		}
		schema = append(schema, k)
	}
}

// ValueError is a value that does not fit its key. The CLI adds where the
// value came from (a flag, a variable, a file).
type ValueError struct {
	Key   string
	Value string
	Want  string // what a good value looks like
}

func (e *ValueError) Error() string { return fmt.Sprintf("%s %q: %s", e.Key, e.Value, e.Want) }

// ErrUnknownKey is wrapped by Set for a key the schema does not have.
var ErrUnknownKey = errors.New("config: unknown key")

// Set parses v (a string from a flag or the environment, or the value a
// configuration file decoded: bool, number, list) into the key called
// name. A bad value is a *ValueError.
func (c *Config) Set(name string, v any) error {
	k, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownKey, name)
	}
	field := reflect.ValueOf(c).Elem().FieldByIndex(k.index)
	if k.Kind == List {
		list, err := toList(v)
		if err != nil {
			return &ValueError{Key: k.Name, Value: fmt.Sprint(v), Want: "give a list of strings"}
		}
		field.Set(reflect.ValueOf(list))
		return nil
	}
	s, ok := toScalar(v)
	if !ok {
		return &ValueError{Key: k.Name, Value: fmt.Sprint(v), Want: "give one value, not a list or a table"}
	}
	bad := func(want string) error { return &ValueError{Key: k.Name, Value: s, Want: want} }
	switch k.Kind {
	case String:
		if k.Enum != nil && !contains(k.Enum, s) {
			return bad("use " + enumText(k.Enum))
		}
		field.SetString(s)
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return bad("give true or false")
		}
		field.SetBool(b)
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || (n < 0 && !k.signed) {
			if k.signed {
				return bad("give a whole number")
			}
			return bad("give a whole number >= 0")
		}
		field.SetInt(n)
	case Bytes:
		n, ok := ParseBytes(s)
		if !ok {
			return bad("give a size such as 4GiB, 512MiB or a number of bytes")
		}
		field.SetInt(n)
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("give a number >= 0")
		}
		field.SetFloat(f)
	case Duration:
		d, ok := ParseDuration(s)
		if !ok {
			return bad("give a duration such as 30s or 10m")
		}
		field.SetInt(int64(d))
	}
	return nil
}

// Validate checks the values that Set checks, for a Config built in code.
func (c Config) Validate() error {
	for _, k := range Keys() {
		if k.Kind == String && k.Enum != nil {
			if s := c.field(k).String(); !contains(k.Enum, s) {
				return &ValueError{Key: k.Name, Value: s, Want: "use " + enumText(k.Enum)}
			}
		}
	}
	return nil
}

func (c *Config) field(k Key) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

// Value is the key's value, as Go holds it (string, bool, int, int64,
// float64, time.Duration, []string).
func (c Config) Value(name string) any {
	k, ok := Lookup(name)
	if !ok {
		return nil
	}
	return c.field(k).Interface()
}

// Text is the key's value as a flag or a file would give it: durations as
// 30s, sizes as 4GiB, lists comma-separated. Secrets are redacted when
// redact is set, and so are passwords in URLs.
func (c Config) Text(name string, redact bool) string {
	k, ok := Lookup(name)
	if !ok {
		return ""
	}
	v := c.field(k)
	var s string
	switch k.Kind {
	case Bytes:
		s = FormatBytes(v.Int())
	case Duration:
		s = time.Duration(v.Int()).String()
	case List:
		items := append([]string(nil), v.Interface().([]string)...)
		if redact {
			for i := range items {
				items[i] = RedactURL(items[i])
			}
		}
		s = strings.Join(items, ",")
	default:
		s = fmt.Sprint(v.Interface())
	}
	if redact {
		if k.Secret && s != "" {
			return Redacted
		}
		s = RedactURL(s)
	}
	return s
}

// Redacted replaces a secret wherever the run would write or log it.
const Redacted = "REDACTED"

// RedactURL hides the password of a URL with user info ("" and other
// strings are returned as they are).
func RedactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Redacted)
	} else {
		u.User = url.User(Redacted)
	}
	return u.String()
}

// Values maps every key to its Text, secrets redacted: what the run's meta
// records and `llemma-prove config` prints.
func (c Config) Values() map[string]string {
	out := map[string]string{}
	for _, k := range Keys() {
		out[k.Name] = c.Text(k.Name, true)
	}
	return out
}

// Verdict is the part of the configuration that can change a verdict
// (keys tagged verdict), for the run's meta and the resume comparison.
// Backend and Proposer must be resolved (no "auto"), and Search resolved
// with Search.Resolved. A backend's section is included only for that
// backend, the model's only for the llm proposer, the k-NN model's only
// for a proposer that uses it.
func (c Config) Verdict() map[string]string {
	out := map[string]string{}
	for _, k := range Keys() {
		if !k.Verdict || k.Secret {
			continue
		}
		switch k.Section {
		case "coq", "lean", "isabelle":
			if k.Section != c.Backend {
				continue
			}
		case "model":
			if c.Proposer != "llm" {
				continue
			}
		case "knn":
			if !strings.Contains(c.Proposer, "knn") {
				continue
			}
		}
		if k.Kind == List {
			items := append([]string(nil), c.field(k).Interface().([]string)...)
			sort.Strings(items)
			out[k.Name] = strings.Join(items, ",")
			continue
		}
		out[k.Name] = c.Text(k.Name, true)
	}
	return out
}

// ParseDuration reads 30s, 10m, 1h30m or a plain number of seconds; ""
// and "0" are 0. Negative durations are refused.
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, d >= 0
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 && !math.IsInf(n, 0) && n < 1e9 {
		return time.Duration(n * float64(time.Second)), true
	}
	return 0, false
}

var byteUnits = []struct {
	suffix string
	m      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}

// ParseBytes reads a size such as 4GiB, 512MiB, 64K or a plain number of
// bytes.
func ParseBytes(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// FormatBytes writes a size the way ParseBytes reads it, in the largest
// unit that divides it.
func FormatBytes(n int64) string {
	for _, u := range byteUnits[:3] {
		if n >= u.m && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func toScalar(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case []string, []any, map[string]any:
		return "", false
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return fmt.Sprint(v), true
}

func toList(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
	case string:
		raw = strings.Split(x, ",")
	case []string:
		for _, s := range x {
			raw = append(raw, strings.Split(s, ",")...)
		}
	case []any:
		for _, e := range x {
			s, ok := toScalar(e)
			if !ok {
				return nil, errors.New("nested list")
			}
			raw = append(raw, s)
		}
	default:
		return nil, errors.New("not a list")
	}
	out := []string{}
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func enumText(e []string) string {
	var shown []string
	for _, s := range e {
		if s != "" {
			shown = append(shown, s)
		}
	}
	if len(shown) == 1 {
		return shown[0]
	}
	return strings.Join(shown[:len(shown)-1], ", ") + " or " + shown[len(shown)-1]
}

// Suggest returns the candidate closest to s by edit distance, when it is
// close enough to be a likely typo ("" otherwise): the did-you-mean of
// unknown keys.
func Suggest(s string, candidates []string) string {
	best, bestD := "", math.MaxInt
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := distance(ls, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance of a and b, with '-', '_' and '.'
// counted as the same character.
func distance(a, b string) int {
	norm := func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return '-'
		}
		return r
	}
	ra, rb := []rune(strings.Map(norm, a)), []rune(strings.Map(norm, b))
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every key is documented, has a flag and an environment name, and its
// default survives a round trip through its text form; the defaults are
// valid.
func TestSchema(t *testing.T) {
	t.Parallel()
	keys := Keys()
	if len(keys) < 60 {
		t.Fatalf("%d keys: the schema lost its sections", len(keys))
	}
	def := Defaults()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, k := range keys {
		if k.Doc == "" || k.Flag == "" || !strings.HasPrefix(k.Env, "LLEMMA_") {
			t.Errorf("%s: doc %q flag %q env %q", k.Name, k.Doc, k.Flag, k.Env)
		}
		if strings.ContainsAny(k.Env, ".-") || k.Env != strings.ToUpper(k.Env) {
			t.Errorf("%s: env name %s", k.Name, k.Env)
		}
		var c Config
		if err := c.Set(k.Name, def.Text(k.Name, false)); err != nil {
			t.Errorf("%s: the default's text %q does not parse: %v", k.Name, def.Text(k.Name, false), err)
			continue
		}
		if got, want := c.Value(k.Name), def.Value(k.Name); !reflect.DeepEqual(got, want) && !(k.Kind == List && reflect.ValueOf(want).Len() == 0) {
			t.Errorf("%s: round trip %v, want %v", k.Name, got, want)
		}
	}
	for _, name := range []string{"theorem-timeout", "coq.memory-limit", "model.url", "search.expansions"} {
		k, ok := Lookup(name)
		if name == "search.expansions" {
			if ok {
				t.Errorf("the inline search section has a prefix")
			}
			continue
		}
		if !ok {
			t.Errorf("no key %s", name)
		}
		_ = k
	}
	if k, _ := Lookup("model.url"); k.Flag != "model-url" || k.Env != "LLEMMA_MODEL_URL" {
		t.Errorf("model.url: %+v", k)
	}
	if k, _ := Lookup("theorem-timeout"); k.Env != "LLEMMA_THEOREM_TIMEOUT" || !k.Verdict {
		t.Errorf("theorem-timeout: %+v", k)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		key  string
		v    any
		want any
		bad  string // substring of the error
	}{
		{"theorem-timeout", "30s", 30 * time.Second, ""},
		{"theorem-timeout", "90", 90 * time.Second, ""},
		{"theorem-timeout", 2.5, 2500 * time.Millisecond, ""},
		{"theorem-timeout", "soon", nil, "give a duration"},
		{"theorem-timeout", "-1s", nil, "give a duration"},
		{"coq.memory-limit", "8GiB", int64(8 << 30), ""},
		{"coq.memory-limit", 1024, int64(1024), ""},
		{"coq.memory-limit", "lots", nil, "give a size"},
		{"workers", "3", 3, ""},
		{"workers", "-2", nil, ">= 0"},
		{"workers", "two", nil, "whole number"},
		{"model.seed", "-1", int64(-1), ""},
		{"model.temperature", "0.7", 0.7, ""},
		{"model.temperature", "-1", nil, ">= 0"},
		{"beam", "yes", nil, "unknown key"},
		{"model.beam", "true", true, ""},
		{"model.beam", "maybe", nil, "true or false"},
		{"model.api", "ollama", "ollama", ""},
		{"model.api", "grpc", nil, "use openai, chat, ollama or llamacpp"},
		{"proposer", "oracle", nil, "use auto, portfolio, knn, portfolio+knn or llm"},
		{"split", "train", nil, "use test or valid"},
		{"merge.split", "", "", ""},
		{"only", "a, b,,c", []string{"a", "b", "c"}, ""},
		{"model.url", []any{"http://a", "http://b"}, []string{"http://a", "http://b"}, ""},
		{"model.url", map[string]any{"x": 1}, nil, "list"},
		{"limit", []any{1, 2}, nil, "one value"},
	} {
		var cfg Config
		err := cfg.Set(c.key, c.v)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("Set(%s, %v) = %v, want an error with %q", c.key, c.v, err, c.bad)
			}
			var ve *ValueError
			if !strings.Contains(c.bad, "unknown") && (!errors.As(err, &ve) || ve.Key != c.key) {
				t.Errorf("Set(%s, %v): %v is not a ValueError naming the key", c.key, c.v, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Set(%s, %v): %v", c.key, c.v, err)
			continue
		}
		if got := cfg.Value(c.key); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Set(%s, %v): %#v, want %#v", c.key, c.v, got, c.want)
		}
	}
}

// Secrets never leave the process: Values and Verdict redact them, and
// passwords in URLs.
func TestRedaction(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Isabelle.Password = "hunter2"
	c.Model.APIKey = "sk-secret"
	c.Model.URLs = []string{"http://user:pw123@gpu:8000", "http://gpu2:8000"}
	c.Backend, c.Proposer = "isabelle", "llm"
	vals := c.Values()
	all := strings.Join(mapValues(vals), " ") + strings.Join(mapValues(c.Verdict()), " ")
	for _, secret := range []string{"hunter2", "sk-secret", "pw123"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q leaked: %v", secret, vals)
		}
	}
	if vals["isabelle.password"] != Redacted || vals["model.url"] != "http://user:REDACTED@gpu:8000,http://gpu2:8000" {
		t.Errorf("values %q %q", vals["isabelle.password"], vals["model.url"])
	}
	if c.Text("isabelle.password", false) != "hunter2" {
		t.Errorf("unredacted text lost the value")
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The verdict config holds the verdict keys of the sections in use.
func TestVerdict(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Backend, c.Proposer = "coq", "portfolio"
	c.Search = c.Search.Resolved(false)
	v := c.Verdict()
	for _, k := range []string{"backend", "proposer", "split", "expansions", "theorem-timeout", "coq.memory-limit", "coq.interval", "llemma-parity"} {
		if _, ok := v[k]; !ok {
			t.Errorf("verdict lacks %s: %v", k, v)
		}
	}
	for _, k := range []string{"model.temperature", "lean.allow-native-decide", "knn.model", "workers", "out"} {
		if _, ok := v[k]; ok {
			t.Errorf("verdict has %s for coq + portfolio: %v", k, v)
		}
	}
	if v["theorem-timeout"] != Budgets.GPUFree.TheoremTimeout.String() || v["expansions"] != "12" {
		t.Errorf("budgets not resolved: %v", v)
	}
	c.Backend, c.Proposer = "lean", "llm"
	v = c.Verdict()
	for _, k := range []string{"model.temperature", "model.beam", "model.seed", "model.prompt", "lean.allow-native-decide"} {
		if _, ok := v[k]; !ok {
			t.Errorf("lean + llm verdict lacks %s", k)
		}
	}
	if _, ok := v["model.api-key"]; ok {
		t.Errorf("a secret in the verdict")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	names := []string{"theorem-timeout", "tactic-timeout", "coq.memory-limit", "model.url"}
	for in, want := range map[string]string{
		"theorem_timeout": "theorem-timeout", "theorem-timout": "theorem-timeout",
		"coq.memory_limit": "coq.memory-limit", "modle.url": "model.url", "frobnicate": "",
	} {
		if got := Suggest(in, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 1000, 1 << 10, 3 << 20, 12 << 30, 1<<30 + 1} {
		if got, ok := ParseBytes(FormatBytes(n)); !ok || got != n {
			t.Errorf("ParseBytes(FormatBytes(%d)) = %d, %v", n, got, ok)
		}
	}
	if _, ok := ParseBytes("99999999999GiB"); ok {
		t.Error("overflow accepted")
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/llemma-prove/llemma-prove/config"
)

func init() {
	var all []string
	for _, k := range config.Keys() {
		if !isGlobal(k.Name) && k.Section != "report" && k.Section != "merge" {
			all = append(all, k.Name)
		}
	}
	register(&command{
		name:  "config",
		short: "print the effective configuration (flags > LLEMMA_* > --config file > defaults), secrets redacted, with where each value came from",
		keys:  all,
		run:   runConfig,
	})
}

// configValues is every key's value, secrets redacted (for the meta).
func (a *app) configValues() map[string]any {
	out := map[string]any{}
	for k, v := range a.cfg.Values() {
		out[k] = v
	}
	return out
}

func runConfig(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("config takes no arguments")
	}
	vals := a.cfg.Values()
	type entry struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Source string `json:"source"`
		Env    string `json:"env"`
	}
	var entries []entry
	for _, k := range config.Keys() {
		src := a.set.src[k.Name]
		where := "default"
		if src.kind != "default" && src.kind != "" {
			where = src.describe(k.Name)
		}
		entries = append(entries, entry{Key: k.Name, Value: vals[k.Name], Source: where, Env: k.Env})
	}
	if a.cfg.JSON {
		return json.NewEncoder(a.stdout).Encode(entries)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tVALUE\tFROM\tENV")
	for _, e := range entries {
		v := e.Value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Key, v, e.Source, e.Env)
	}
	return w.Flush()
}

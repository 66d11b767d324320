package isabelle

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Doctor checks the isabelle tool and the server, with the fix for each
// problem. It starts (and stops) a server unless cfg.Address is set.
func Doctor(cfg Config) []prover.Check {
	cfg.defaults()
	var checks []prover.Check
	if cfg.Address == "" {
		c := prover.Check{Name: "isabelle"}
		path, err := exec.LookPath(cfg.Server[0])
		if err != nil {
			c.Detail = fmt.Sprintf("%s not found on PATH", cfg.Server[0])
			c.Fix = "install Isabelle2023 or later (https://isabelle.in.tum.de) and add its bin/ to PATH, or set isabelle.server to the server command"
			return append(checks, c)
		}
		c.OK, c.Detail = true, path
		if filepath.Base(path) == "isabelle" {
			res, err := proc.Run(context.Background(), proc.Spec{Name: "isabelle version", Argv: []string{path, "version"}, Env: cfg.Env}, cfg.StartTimeout)
			if err != nil {
				c.OK = false
				c.Detail = fmt.Sprintf("%s version failed: %v", path, err)
				c.Fix = "check the Isabelle installation (isabelle version must run)"
			} else {
				c.Detail = path + " " + strings.TrimSpace(string(res.Stdout))
			}
		}
		checks = append(checks, c)
		if !c.OK {
			return checks
		}
	}
	c := prover.Check{Name: "isabelle server"}
	fix := "check that `" + strings.Join(cfg.Server, " ") + "` prints its server line (isabelle server -l lists running servers)"
	if cfg.Address != "" {
		fix = "check isabelle.address and isabelle.password against `isabelle server -l`, or unset the address to start a server"
	}
	b, err := New(cfg)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "set isabelle.workdir to a writable directory"
		return append(checks, c)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartTimeout+cfg.ConnectTimeout)
	defer cancel()
	conn, _, err := b.ensure(ctx)
	if err != nil {
		c.Detail, c.Fix = err.Error(), fix
		return append(checks, c)
	}
	m, err := conn.Call(ctx, "help", nil)
	var cmds []string
	if err == nil {
		err = json.Unmarshal([]byte(m.Arg), &cmds)
	}
	switch {
	case err != nil:
		c.Detail, c.Fix = "help: "+err.Error(), fix
	case !contains(cmds, "use_theories") || !contains(cmds, "session_start"):
		c.Detail, c.Fix = fmt.Sprintf("server lacks use_theories/session_start: %v", cmds), "use Isabelle2018 or later"
	default:
		b.mu.Lock()
		info := b.info
		b.mu.Unlock()
		c.OK = true
		c.Detail = fmt.Sprintf("%v (%v); sandbox: %s", firstOf(info, "isabelle_name", "isabelle_version"), firstOf(info, "isabelle_id"), b.sandboxNote())
	}
	return append(checks, c)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return "unknown"
}

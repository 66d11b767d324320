package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/bridge"
	"github.com/llemma-prove/llemma-prove/prover"
)

// serveStdin is the protocol's input in --stdio mode (a seam for tests).
var serveStdin io.Reader = os.Stdin

// serveKeys configure the editor bridge.
var serveKeys = []string{"stdio", "listen", "http", "allow-remote", "token-file", "max-concurrent", "request-timeout", "max-body", "suggestions"}

func init() {
	register(&command{
		name:  "serve",
		short: "serve editors: JSON-RPC (LSP framing) on stdio or TCP, llmstep and Lean Copilot over HTTP",
		keys:  keys(serveKeys, backendKeys, proposerKeys, searchKeys),
		run:   runServe,
	})
}

func runServe(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments (got %q)", strings.Join(args, " "))
	}
	sc := a.cfg.Serve
	stdio := sc.Stdio || (sc.Listen == "" && sc.HTTP == "")
	token, err := a.serveToken()
	if err != nil {
		return err
	}
	for _, l := range []struct{ key, addr string }{{"listen", sc.Listen}, {"http", sc.HTTP}} {
		if l.addr == "" {
			continue
		}
		if err := bridge.CheckListen(a.from(l.key), l.addr, sc.AllowRemote, token); err != nil {
			return asUsage(err)
		}
	}
	srv, def, err := a.newServer(ctx, token)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			a.log.Warn("stopping the backends", "err", err)
		}
	}()
	return a.serve(ctx, srv, def, stdio)
}

// serveToken reads --token-file.
func (a *app) serveToken() (string, error) {
	path := a.cfg.Serve.TokenFile
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("%s %s: %v", a.from("token-file"), path, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", usagef("%s %s is empty", a.from("token-file"), path)
	}
	return token, nil
}

// newServer builds the bridge: backends by driver, built on first use and
// stopped by the server's Close; proposers per backend, an LLM runtime
// started now (fail fast) and stopped when the command ends.
func (a *app) newServer(ctx context.Context, token string) (*bridge.Server, string, error) {
	drv, err := a.driver(ctx)
	if err != nil {
		return nil, "", err
	}
	defProposer, llm, err := a.newProposer(drv)
	if err != nil {
		return nil, "", err
	}
	if err := a.preflightModel(ctx, &stack{drv: drv, proposer: defProposer, llm: llm}); err != nil {
		return nil, "", err
	}
	lookup := func(name string) (prover.Driver, error) {
		d, err := prover.Lookup(name)
		if err != nil {
			return prover.Driver{}, err
		}
		return a.use(d), nil
	}
	bud := a.budget()
	srv := &bridge.Server{
		Backends: func(name string) (prover.Backend, error) {
			d, err := lookup(name)
			if err != nil {
				return nil, err
			}
			return a.buildBackend(d, a.workers())
		},
		Proposer: func(name string) (prover.Proposer, error) {
			if name == drv.Name {
				return defProposer, nil
			}
			d, err := lookup(name)
			if err != nil {
				return nil, err
			}
			p, _, err := a.newProposer(d)
			return p, err
		},
		Policy: func(name string) (prover.Policy, error) {
			d, err := lookup(name)
			if err != nil {
				return nil, err
			}
			return d.Policy(a.cfg), nil
		},
		Names:          driverNames(),
		DefaultBackend: drv.Name,
		Budget: bridge.Budget{
			Expansions: bud.Expansions, Samples: bud.Samples,
			TheoremTimeout: bud.TheoremTimeout, TacticTimeout: bud.TacticTimeout,
		},
		SetupTimeout:   a.cfg.Search.SetupTimeout,
		VerifyTimeout:  a.cfg.Search.VerifyTimeout,
		Slots:          prover.NewSlots(a.workers()),
		MaxConcurrent:  a.cfg.Serve.MaxConcurrent,
		MaxBody:        a.cfg.Serve.MaxBody,
		RequestTimeout: a.cfg.Serve.RequestTimeout,
		Suggestions:    a.cfg.Serve.Suggestions,
		Token:          token,
		Version:        version(),
		Log:            a.log,
	}
	return srv, drv.Name + ", proposer " + defProposer.Name(), nil
}

// serve runs the listeners until ctx ends or the stdio client leaves.
func (a *app) serve(ctx context.Context, srv *bridge.Server, what string, stdio bool) error {
	sc := a.cfg.Serve
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if sc.Listen != "" {
		ln, err := net.Listen("tcp", sc.Listen)
		if err != nil {
			return usagef("%s %s: %v", a.from("listen"), sc.Listen, err)
		}
		a.say("llemma-prove serve: JSON-RPC on %s (backend %s)", ln.Addr(), what)
		g.Go(func() error { return srv.ServeListener(gctx, ln) })
	}
	if sc.HTTP != "" {
		ln, err := net.Listen("tcp", sc.HTTP)
		if err != nil {
			return usagef("%s %s: %v", a.from("http"), sc.HTTP, err)
		}
		a.say("llemma-prove serve: HTTP on http://%s (llmstep: POST /, Lean Copilot: POST /generate; backend %s)", ln.Addr(), what)
		g.Go(func() error { return srv.ServeHTTPListener(gctx, ln) })
	}
	if stdio {
		a.say("llemma-prove serve: JSON-RPC on stdio (backend %s)", what)
		g.Go(func() error {
			err := srv.ServeStdio(gctx, serveStdin, a.stdout)
			// The editor owns a stdio server: when it hangs up or sends
			// exit, the whole server stops.
			cancel()
			return err
		})
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

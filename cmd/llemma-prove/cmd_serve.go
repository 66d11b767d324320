package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/bridge"
	"github.com/llemma-prove/llemma-prove/prover"
)

// serveStdin is the protocol's input in --stdio mode (a seam for tests).
var serveStdin io.Reader = os.Stdin

func init() {
	register(&command{
		name:  "serve",
		short: "serve editors: JSON-RPC (LSP framing) on stdio or TCP, llmstep and Lean Copilot over HTTP",
		flags: func(fs *pflag.FlagSet) {
			fs.Bool("stdio", false, "JSON-RPC on stdin/stdout (the default when no --listen or --http is given); ends when the client exits")
			fs.String("listen", "", "JSON-RPC over TCP on ADDR, e.g. 127.0.0.1:6001")
			fs.String("http", "", "HTTP on ADDR for llmstep (POST /) and Lean Copilot (POST /generate), e.g. 127.0.0.1:23337")
			fs.Bool("allow-remote", false, "allow non-loopback addresses (requires --token-file)")
			fs.String("token-file", "", "file holding a token that clients must send (HTTP: Authorization: Bearer; JSON-RPC over TCP: initialize {token})")
			fs.Int("max-concurrent", bridge.DefaultMaxConcurrent, "requests running at once; more are refused as busy (HTTP 503, JSON-RPC -32002)")
			fs.String("request-timeout", "60s", "wall time per suggest, check and HTTP request")
			fs.String("max-body", "1MiB", "largest HTTP body or JSON-RPC message")
			fs.Int("suggestions", bridge.DefaultSuggestions, "suggestions per request when the client does not say")
			backendFlags(fs)
			proposerFlags(fs)
			searchFlags(fs)
		},
		run: runServe,
	})
}

func runServe(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments (got %q)", strings.Join(args, " "))
	}
	listen, httpAddr := a.v.GetString("listen"), a.v.GetString("http")
	stdio := a.v.GetBool("stdio") || (listen == "" && httpAddr == "")
	allowRemote := a.v.GetBool("allow-remote")
	token := ""
	if path := a.v.GetString("token-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return usagef("--token-file %s: %v", path, err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return usagef("--token-file %s is empty", path)
		}
	}
	for _, l := range []struct{ flag, addr string }{{"--listen", listen}, {"--http", httpAddr}} {
		if l.addr == "" {
			continue
		}
		if err := bridge.CheckListen(l.flag, l.addr, allowRemote, token); err != nil {
			return usageError{err.Error()}
		}
	}
	timeout, err := a.duration("request-timeout")
	if err != nil {
		return err
	}
	maxBody, err := a.bytesKey("max-body")
	if err != nil {
		return err
	}
	maxConc, err := a.intKey("max-concurrent")
	if err != nil {
		return err
	}
	nSug, err := a.intKey("suggestions")
	if err != nil {
		return err
	}
	defBackend, err := a.chooseBackend()
	if err != nil {
		return err
	}
	defProposer, portfolio, err := a.newProposer(defBackend)
	if err != nil {
		return err
	}
	// newAgent resolves the budget flags over the proposer's defaults.
	agent, err := a.newAgent(nil, defProposer, portfolio)
	if err != nil {
		return err
	}
	var mu sync.Mutex // the factories read the one viper
	srv := &bridge.Server{
		Backends: func(name string) (prover.Backend, error) {
			mu.Lock()
			defer mu.Unlock()
			return a.newBackend(name)
		},
		Proposer: func(name string) (prover.Proposer, error) {
			if name == defBackend {
				return defProposer, nil
			}
			mu.Lock()
			defer mu.Unlock()
			p, _, err := a.newProposer(name)
			return p, err
		},
		DefaultBackend: defBackend,
		Budget: bridge.Budget{
			Expansions:     agent.Search.Expansions,
			Samples:        agent.Search.Samples,
			TheoremTimeout: agent.TheoremTimeout,
			TacticTimeout:  agent.Search.TacticTimeout,
		},
		MaxConcurrent:  maxConc,
		MaxBody:        maxBody,
		RequestTimeout: timeout,
		Suggestions:    nSug,
		Token:          token,
		Version:        version(),
		Log:            a.log,
	}
	defer func() {
		if err := srv.Close(); err != nil {
			a.log.Warn("stopping the backends", "err", err)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", listen, err)
		}
		a.say("llemma-prove serve: JSON-RPC on %s (backend %s, proposer %s)", ln.Addr(), defBackend, defProposer.Name())
		g.Go(func() error { return srv.ServeListener(gctx, ln) })
	}
	if httpAddr != "" {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return fmt.Errorf("--http %s: %w", httpAddr, err)
		}
		a.say("llemma-prove serve: HTTP on http://%s (llmstep: POST /, Lean Copilot: POST /generate; backend %s, proposer %s)", ln.Addr(), defBackend, defProposer.Name())
		g.Go(func() error { return srv.ServeHTTPListener(gctx, ln) })
	}
	if stdio {
		a.say("llemma-prove serve: JSON-RPC on stdio (backend %s, proposer %s)", defBackend, defProposer.Name())
		g.Go(func() error {
			err := srv.ServeStdio(gctx, serveStdin, a.stdout)
			// The editor owns a stdio server: when it hangs up or sends
			// exit, the whole server stops.
			cancel()
			return err
		})
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

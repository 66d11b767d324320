package main

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
)

// source says where a key's value came from, for messages.
type source struct {
	kind string // "flag", "env", "file", "default"
	name string // the flag, the variable or the file
}

// describe names the value's origin: --theorem-timeout,
// LLEMMA_THEOREM_TIMEOUT, run.yaml (key theorem-timeout), or the default.
func (s source) describe(key string) string {
	switch s.kind {
	case "flag":
		return s.name
	case "env":
		return s.name
	case "file":
		return fmt.Sprintf("%s (key %s)", s.name, key)
	}
	return key + " (default)"
}

// environ is the process environment (a seam for tests).
var environ = os.Environ

// reservedEnv are LLEMMA_* variables that are not configuration keys: the
// sandbox helper's marker, the setup scripts' variables, and the test
// harnesses' (LLEMMA_TEST_*, LLEMMA_FAKE_*).
var reservedEnv = []string{sandbox.EnvVar, "LLEMMA_LEAN_HOME", "LLEMMA_REPL_URL"}

func isReservedEnv(name string) bool {
	if strings.HasPrefix(name, "LLEMMA_TEST_") || strings.HasPrefix(name, "LLEMMA_FAKE_") {
		return true
	}
	for _, r := range reservedEnv {
		if name == r {
			return true
		}
	}
	return false
}

// settings builds the typed configuration of one command line, once: the
// one viper instance reads the --config file and binds every key to its
// flag and its variable; the values are decoded by the schema, each with
// its source. Unknown keys and variables, and bad values, are usage errors
// naming the key, the source and, when one is close, a did-you-mean.
type settings struct {
	v   *viper.Viper
	fs  *pflag.FlagSet
	cfg config.Config
	src map[string]source
}

func buildSettings(fs *pflag.FlagSet) (*settings, error) {
	s := &settings{v: viper.New(), fs: fs, cfg: config.Defaults(), src: map[string]source{}}
	env := envMap()
	if err := s.bind(); err != nil {
		return nil, err
	}
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	if err := s.readFile(env); err != nil {
		return nil, err
	}
	for _, k := range config.Keys() {
		if err := s.decode(k, env); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Validate(); err != nil {
		return nil, s.valueError(err)
	}
	return s, nil
}

func envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "LLEMMA_") {
			m[k] = v
		}
	}
	return m
}

// bind gives viper every key: its flag on this command line, if any, and
// its variable (explicitly: AutomaticEnv alone ignores keys viper does not
// know). Flags outside the schema (train's) are bound by their own name.
func (s *settings) bind() error {
	for _, k := range config.Keys() {
		if err := s.v.BindEnv(k.Name, k.Env); err != nil {
			return err
		}
	}
	var err error
	s.fs.VisitAll(func(f *pflag.Flag) {
		key := f.Name
		if a := f.Annotations[keyAnnotation]; len(a) == 1 {
			key = a[0]
		} else if err == nil {
			err = s.v.BindEnv(key, config.EnvName(key))
		}
		if err == nil {
			err = s.v.BindPFlag(key, f)
		}
	})
	return err
}

// legacyKeys are the flags that commands declare outside the schema.
func legacyKeys() map[string]bool {
	out := map[string]bool{}
	for _, c := range commands {
		if c.flags == nil {
			continue
		}
		fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
		c.flags(fs)
		fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = true })
	}
	return out
}

// knownNames are the schema's key names and the legacy flags.
func knownNames() []string {
	var out []string
	for _, k := range config.Keys() {
		out = append(out, k.Name)
	}
	for n := range legacyKeys() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// checkEnv refuses LLEMMA_* variables that name no key.
func checkEnv(env map[string]string) error {
	known := map[string]bool{}
	var names []string
	for _, n := range knownNames() {
		known[config.EnvName(n)] = true
		names = append(names, config.EnvName(n))
	}
	var bad []string
	for name := range env {
		if !known[name] && !isReservedEnv(name) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	msg := fmt.Sprintf("environment: %s is not a configuration variable", bad[0])
	if s := config.Suggest(bad[0], names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	if len(bad) > 1 {
		msg += fmt.Sprintf("; also unknown: %s", strings.Join(bad[1:], ", "))
	}
	return usagef("%s; see llemma-prove config", msg)
}

// readFile reads the --config file (or LLEMMA_CONFIG) and refuses keys the
// schema does not have.
func (s *settings) readFile(env map[string]string) error {
	path, from := "", ""
	if f := s.fs.Lookup("config"); f != nil && f.Changed {
		path, from = f.Value.String(), "--config"
	} else if p := env["LLEMMA_CONFIG"]; p != "" {
		path, from = p, "LLEMMA_CONFIG"
	}
	if path == "" {
		return nil
	}
	s.v.SetConfigFile(path)
	if err := s.v.ReadInConfig(); err != nil {
		var pe *iofs.PathError
		if errors.As(err, &pe) {
			return usagef("%s %s: file not found", from, path)
		}
		return usagef("%s %s: %v", from, path, err)
	}
	known := map[string]bool{}
	for _, n := range knownNames() {
		known[n] = true
	}
	for _, key := range s.v.AllKeys() {
		if !s.v.InConfig(key) {
			continue
		}
		if k, ok := config.Lookup(key); ok && k.NoFile {
			return usagef("%s: key %s cannot be set in a configuration file", path, key)
		}
		if known[key] {
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %s", path, key)
		if sug := config.Suggest(key, knownNames()); sug != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", sug)
		}
		return usagef("%s", msg)
	}
	return nil
}

// decode sets key k from the source that wins: a flag given on the command
// line, else its variable, else the file, else the default.
func (s *settings) decode(k config.Key, env map[string]string) error {
	var (
		src source
		val any
	)
	f := s.fs.Lookup(k.Flag)
	switch {
	case f != nil && f.Changed && f.Annotations[keyAnnotation] != nil && f.Annotations[keyAnnotation][0] == k.Name:
		src = source{"flag", "--" + k.Flag}
		if k.Kind == config.List {
			val, _ = s.fs.GetStringSlice(k.Flag)
		} else {
			val = f.Value.String()
		}
	case hasEnv(env, k.Env):
		src, val = source{"env", k.Env}, env[k.Env]
	case s.v.InConfig(k.Name):
		src, val = source{"file", s.v.ConfigFileUsed()}, s.v.Get(k.Name)
	default:
		s.src[k.Name] = source{kind: "default"}
		return nil
	}
	s.src[k.Name] = src
	if err := s.cfg.Set(k.Name, val); err != nil {
		return s.valueError(err)
	}
	return nil
}

func hasEnv(env map[string]string, name string) bool {
	v, ok := env[name]
	return ok && v != ""
}

// valueError names the key, the value and where it came from.
func (s *settings) valueError(err error) error {
	var ve *config.ValueError
	if !errors.As(err, &ve) {
		return asUsage(err)
	}
	return usagef("%s %q: %s", s.from(ve.Key), ve.Value, ve.Want)
}

// from names where key's value came from: the flag as typed, the variable,
// the file, or the default.
func (s *settings) from(key string) string {
	src, ok := s.src[key]
	if !ok || src.kind == "default" {
		if k, ok := config.Lookup(key); ok {
			return "--" + k.Flag
		}
		return key
	}
	return src.describe(key)
}

// newApp builds what every command gets: the typed configuration and its
// sources, the streams and the logger.
func newApp(c *command, fs *pflag.FlagSet, stdout, stderr io.Writer) (*app, error) {
	s, err := buildSettings(fs)
	if err != nil {
		return nil, err
	}
	level, err := parseLevel(s.cfg.LogLevel)
	if err != nil {
		return nil, usagef("%s %q: %v", s.from("log-level"), s.cfg.LogLevel, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return &app{cmd: c, set: s, cfg: s.cfg, v: s.v, fs: fs, stdout: stdout, stderr: stderr, log: log}, nil
}

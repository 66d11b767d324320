package model

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
)

// Secret is a credential. Every way of printing it (fmt's verbs, JSON,
// slog) gives "[REDACTED]", so a config struct holding one can be logged or
// written to a run's meta without leaking it. Reveal gives the value.
type Secret string

const redacted = "[REDACTED]"

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// Format hides the value from every fmt verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText hides the value (encoding/json map keys, YAML, TOML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the credential itself, for the Authorization header.
func (s Secret) Reveal() string { return string(s) }

// redact replaces every occurrence of the secret in text.
func (s Secret) redact(text string) string {
	if len(s) < 4 { // a one-letter "key" would shred every message
		return text
	}
	return strings.ReplaceAll(text, string(s), redacted)
}

// Environment variables read for the API key, in order, when neither
// model.api-key nor model.api-key-file is set. LLEMMA_MODEL_API_KEY is
// normally bound to model.api-key by the CLI already; it is read here too
// so that library users get the same behaviour.
const (
	EnvAPIKey       = "LLEMMA_MODEL_API_KEY"
	EnvOpenAIAPIKey = "OPENAI_API_KEY"
)

// ErrAPIKey is wrapped by every failure to read the configured key.
var ErrAPIKey = errors.New("model: API key")

// ResolveAPIKey finds the bearer token to send: the contents of file when
// it is set (first line, trimmed; a missing or empty file is an error, a
// file readable by others is logged as a warning), else key, else
// $LLEMMA_MODEL_API_KEY, else $OPENAI_API_KEY. getenv is os.Getenv when
// nil. The source is returned for logs ("file /path", "env
// OPENAI_API_KEY", ...), never the key.
func ResolveAPIKey(key Secret, file string, getenv func(string) string) (Secret, string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("%w: reading model.api-key-file: %w", ErrAPIKey, err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		line = strings.TrimSpace(line)
		if line == "" {
			return "", "", fmt.Errorf("%w: model.api-key-file %s is empty", ErrAPIKey, file)
		}
		if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
			slog.Warn("model API key file is readable by other users; chmod 600 it", "file", file,
				"mode", fi.Mode().Perm().String())
		}
		return Secret(line), "file " + file, nil
	}
	if key != "" {
		return Secret(strings.TrimSpace(string(key))), "model.api-key", nil
	}
	for _, env := range []string{EnvAPIKey, EnvOpenAIAPIKey} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			return Secret(v), "env " + env, nil
		}
	}
	return "", "", nil
}

// displayURL is u without its password, for messages.
func displayURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// insecureKeyTarget reports whether sending a key to u exposes it on the
// network: plain http to a host that is not loopback.
func insecureKeyTarget(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" {
		return false
	}
	host := p.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

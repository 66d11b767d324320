package prover

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/llemma-prove/llemma-prove/config"
)

// Driver is one backend's registration: everything the CLI, the runner and
// the bridge need to know about a proof assistant, so that none of them
// switches on a backend's name. Each backend package registers its driver
// in an init function; a program links the backends it supports by
// importing them.
type Driver struct {
	Name       string   // "coq", "lean", "isabelle"
	Extensions []string // source file extensions, e.g. ".v"
	// DataDir is the backend's subdirectory of a miniF2F checkout
	// ("coq", "lean4", "isabelle").
	DataDir string
	// New builds the backend from the typed configuration; its processes
	// start lazily. workers is the number of checker processes at most.
	New func(cfg config.Config, workers int, log *slog.Logger) (Backend, error)
	// Policy is the tactic policy for untrusted proposals, from the
	// configuration (e.g. lean.allow-native-decide).
	Policy func(cfg config.Config) Policy
	// ParseTheorem cuts a source file into the header and the statement of
	// the theorem called name.
	ParseTheorem func(name, src string) (Theorem, error)
	// LastTheorem is the name of the last theorem a source file declares
	// ("" when none).
	LastTheorem func(src string) string
	// LoadMiniF2F loads one split of the benchmark from the backend's data
	// directory.
	LoadMiniF2F func(dir, split string) ([]Theorem, error)
	// Doctor checks that the backend's tools are installed and usable.
	Doctor func(ctx context.Context, cfg config.Config) []Check
	// Versions are the tools' versions, for the run's meta (e.g. coqc).
	Versions func(ctx context.Context, cfg config.Config) map[string]string
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a backend available by name. It panics on a duplicate or
// incomplete registration: both are programming errors.
func Register(d Driver) {
	if d.Name == "" || d.New == nil || d.Policy == nil || d.ParseTheorem == nil {
		panic("prover: incomplete driver registration " + d.Name)
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[d.Name]; dup {
		panic("prover: driver registered twice: " + d.Name)
	}
	drivers[d.Name] = d
}

// Lookup returns the driver called name.
func Lookup(name string) (Driver, error) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	d, ok := drivers[strings.ToLower(name)]
	if !ok {
		return Driver{}, fmt.Errorf("unknown backend %q (have: %s)", name, strings.Join(driverNames(), ", "))
	}
	return d, nil
}

// Drivers lists the registered drivers by name.
func Drivers() []Driver {
	driversMu.RLock()
	defer driversMu.RUnlock()
	var out []Driver
	for _, n := range driverNames() {
		out = append(out, drivers[n])
	}
	return out
}

func driverNames() []string {
	var names []string
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DriverForFile returns the driver whose extension path has.
func DriverForFile(path string) (Driver, bool) {
	ext := filepath.Ext(path)
	for _, d := range Drivers() {
		for _, e := range d.Extensions {
			if e == ext {
				return d, true
			}
		}
	}
	return Driver{}, false
}

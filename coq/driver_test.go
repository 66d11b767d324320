package coq

import (
	"testing"

	"github.com/llemma-prove/llemma-prove/config"
)

// The typed configuration reaches the backend: coq.processes (how many
// coqtops parked sessions may keep) and the budget-independent knobs,
// with the backend's floor of Workers for Processes.
func TestConfigFrom(t *testing.T) {
	cfg := config.Defaults()
	cfg.Coq.Processes, cfg.Coq.MaxUses = 6, 7
	c := configFrom(cfg, 2, nil)
	if c.Processes != 6 || c.MaxUses != 7 || c.Workers != 2 {
		t.Fatalf("configFrom: processes %d, max uses %d, workers %d; want 6, 7, 2", c.Processes, c.MaxUses, c.Workers)
	}
	cfg.Coq.Processes = 1
	c = configFrom(cfg, 3, nil)
	c.defaults()
	if c.Processes != 3 {
		t.Errorf("processes below workers: %d, want the floor 3", c.Processes)
	}
}

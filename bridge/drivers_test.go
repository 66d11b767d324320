package bridge

// The bridge serves the backends registered by their packages: the tests
// link all three, as the CLI does.
import (
	_ "github.com/llemma-prove/llemma-prove/coq"
	_ "github.com/llemma-prove/llemma-prove/isabelle"
	_ "github.com/llemma-prove/llemma-prove/lean"
)

// Package proc is the one supervised-process package of llemma-prove:
// everything that starts an external program (coqtop, coqc, coqchk, lean,
// the Lean REPL, the Isabelle server, the model runtime launcher) goes
// through [Run] (run to completion) or [Start] (long-lived, driven over
// stdin/stdout), a warm [Pool] of such processes, and the one restart
// policy, [Backoff].
//
// Every child gets: its own process group (a kill reaches its
// grandchildren), PR_SET_PDEATHSIG=SIGKILL, optional rlimits and a Landlock
// sandbox applied before its first instruction (see internal/sandbox), a
// stderr tail kept by a goroutine that never lets the pipe fill, and a
// reaper goroutine. When the group leader exits, the members left in its
// group are killed: they are strays (a coqc's forgotten child, a REPL
// worker), and killing them while the leader is an unreaped zombie is the
// one moment the group id cannot have been reused.
//
// # Parent-death signal and Go threads
//
// PR_SET_PDEATHSIG fires when the thread that forked the child exits, not
// when the process does (prctl(2)). A Go program's threads normally live
// forever, with one exception: a goroutine that exits while locked to its
// thread (runtime.LockOSThread without Unlock) takes the thread with it.
// So a child forked from an ordinary goroutine could be SIGKILLed at a
// random later moment, when some other goroutine happened to lock that
// same thread and exit (golang/go#27505). This package therefore forks
// every child from one dedicated goroutine that locks its thread for the
// life of the program and never exits: the parent-death signal then fires
// exactly when the prover dies, including on kill -9. Go's own fork code
// closes the remaining race (parent dead before the prctl) by checking the
// parent pid after setting it. The signal reaches the direct child only;
// a grandchild in the group dies with it when the prover kills or closes
// the group, but not when the prover itself is SIGKILLed.
//
// Do not call Start or Run from inside a testing/synctest bubble: the
// forker goroutine would be started inside it.
//
// # Sandbox helper
//
// When Spec.Sandbox, MemoryLimit or CPULimit is set, the child is this same
// binary re-executed as the internal/sandbox helper, which sets the limits,
// confines itself and execs the real program. Any binary that links this
// package can be that helper. A Go program as the child needs an
// address-space limit of at least about 1 GiB (the runtime reserves its
// heap metadata up front; the race detector more).
package proc

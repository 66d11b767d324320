package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Signal sends sig to the process (the group leader only, not its group),
// unless it has already exited: once the leader is a zombie its pid may be
// reused, so nothing is sent and Signal returns os.ErrProcessDone. A
// process that handles SIGINT (coqtop stops the running sentence with
// "User interrupt") can be interrupted this way without losing its state.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.zombie {
		return os.ErrProcessDone
	}
	return syscall.Kill(p.pid, sig)
}

// CPUTime is the user+system CPU time used so far by the process (all its
// threads), its live descendants and the children they have waited for
// (a solver a tactic ran, such as psatz's csdp), from /proc/PID/stat; 0 if unknown or
// the process has exited. Its resolution is the kernel's clock tick
// (10 ms). Unlike wall time it does not grow while the process waits for
// a CPU, so a deadline on it means the same on an idle and a loaded
// machine.
func (p *Process) CPUTime() time.Duration {
	p.mu.Lock()
	gone := p.zombie
	p.mu.Unlock()
	if gone {
		return 0
	}
	var total time.Duration
	for _, pid := range descendants(p.pid) {
		total += cpuTime(pid)
	}
	return total
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports (the kernel fixes it for user space).
const clockTick = 10 * time.Millisecond

// cpuTime reads utime+stime of one process from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseStatCPU(b)
}

// parseStatCPU reads fields 14-17 (utime, stime, and cutime, cstime: the
// times of the children the process has waited for) of a /proc/PID/stat
// line. A live child is not in its parent's cutime yet, so summing over
// live descendants counts each process once. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted after its last ')'.
func parseStatCPU(stat []byte) time.Duration {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16)
	// cstime(17).
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, field := range f[11:15] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick
}

// descendants lists pid and its live descendants (at most 256 processes),
// found through /proc/PID/task/TID/children.
func descendants(pid int) []int {
	var out []int
	seen := map[int]bool{}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < 256 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		dir := "/proc/" + strconv.Itoa(id) + "/task"
		tasks, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

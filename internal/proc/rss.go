package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// RSS is the resident memory in bytes of the process and its descendants,
// from /proc; 0 if unknown or the process has exited.
func (p *Process) RSS() int64 {
	p.mu.Lock()
	gone := p.zombie
	p.mu.Unlock()
	if gone {
		return 0
	}
	return treeRSS(p.pid)
}

// treeRSS sums VmRSS over pid and its live descendants.
func treeRSS(pid int) int64 {
	var total int64
	for _, id := range descendants(pid) {
		total += vmRSS(id)
	}
	return total
}

// vmRSS reads the VmRSS line of /proc/PID/status ("VmRSS:  1234 kB").
func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) int64 {
	i := bytes.Index(status, []byte("\nVmRSS:"))
	if i < 0 {
		return 0
	}
	line := status[i+len("\nVmRSS:"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

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

// treeRSS sums VmRSS over pid and its descendants (at most 256 processes),
// found through /proc/PID/task/TID/children.
func treeRSS(pid int) int64 {
	var total int64
	seen := map[int]bool{}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < 256 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		total += vmRSS(id)
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

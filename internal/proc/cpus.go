package proc

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Where CPUs looks for cgroup limits; tests point them at fake trees.
var (
	cgroupRoot = "/sys/fs/cgroup"
	procCgroup = "/proc/self/cgroup"
	affinity   = schedAffinity
)

// CPUs is the number of CPUs this process may use: the minimum of its
// sched_getaffinity mask, the cgroup v2 cpu.max quota/period and the cgroup
// v1 cpu.cfs_quota_us/cpu.cfs_period_us (rounded up, every ancestor cgroup
// counted), and at least 1. A Kubernetes pod on a 64-core node with a
// 2-CPU limit gets 2. Unlike runtime.GOMAXPROCS(0) it ignores the
// GOMAXPROCS environment variable.
func CPUs() int {
	n := affinity()
	if q := cgroupQuota(cgroupRoot, procCgroup); q > 0 && (n <= 0 || q < n) {
		n = q
	}
	return max(n, 1)
}

func schedAffinity() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	return set.Count()
}

// cgroupQuota returns the tightest CPU quota, in whole CPUs rounded up,
// that applies to the cgroups named in the file self (the format of
// /proc/self/cgroup) under root; 0 when there is none.
func cgroupQuota(root, self string) int {
	b, err := os.ReadFile(self)
	if err != nil {
		return 0
	}
	best := math.Inf(1)
	consider := func(cpus float64) {
		if cpus > 0 && cpus < best {
			best = cpus
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		id, controllers, path := parts[0], parts[1], parts[2]
		if id == "0" && controllers == "" {
			// v2: the unified hierarchy is mounted at root, or at
			// root/unified on hybrid systems.
			for _, mount := range []string{root, filepath.Join(root, "unified")} {
				walkUp(mount, path, func(dir string) { consider(readCPUMax(dir)) })
			}
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			if c != "cpu" {
				continue
			}
			// v1: the cpu controller is mounted at root/cpu or with
			// cpuacct at root/cpu,cpuacct (or cpuacct,cpu).
			for _, name := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
				walkUp(filepath.Join(root, name), path, func(dir string) { consider(readCFS(dir)) })
			}
		}
	}
	if math.IsInf(best, 1) {
		return 0
	}
	return max(int(math.Ceil(best-1e-9)), 1)
}

// walkUp calls fn on mount/path and each of its ancestors up to mount.
// Inside a cgroup namespace (a container) the path may not exist under the
// mount, whose root is then the container's own cgroup: it is still
// visited.
func walkUp(mount, path string, fn func(dir string)) {
	if fi, err := os.Stat(mount); err != nil || !fi.IsDir() {
		return
	}
	rel := filepath.Clean("/" + path)
	for {
		fn(filepath.Join(mount, rel))
		if rel == "/" {
			return
		}
		rel = filepath.Dir(rel)
	}
}

// readCPUMax parses a cgroup v2 cpu.max ("max 100000" or "200000 100000")
// into CPUs; 0 when unlimited or unreadable.
func readCPUMax(dir string) float64 {
	b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || f[0] == "max" {
		return 0
	}
	quota, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	period := 100000.0
	if len(f) > 1 {
		if period, err = strconv.ParseFloat(f[1], 64); err != nil {
			return 0
		}
	}
	return ratio(quota, period)
}

// readCFS parses cgroup v1 cpu.cfs_quota_us (-1: unlimited) and
// cpu.cfs_period_us into CPUs; 0 when unlimited or unreadable.
func readCFS(dir string) float64 {
	q, err := readNumber(filepath.Join(dir, "cpu.cfs_quota_us"))
	if err != nil {
		return 0
	}
	p, err := readNumber(filepath.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0
	}
	return ratio(q, p)
}

func readNumber(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}

func ratio(quota, period float64) float64 {
	if quota <= 0 || period <= 0 {
		return 0
	}
	return quota / period
}

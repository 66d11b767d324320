package proc

// SetCgroupPaths points CPUs at a fake cgroup tree and /proc/self/cgroup
// file, and its affinity probe at a fixed count (n <= 0: the real one).
// It returns a func that undoes it.
func SetCgroupPaths(root, self string, n int) (reset func()) {
	oldRoot, oldSelf, oldAff := cgroupRoot, procCgroup, affinity
	cgroupRoot, procCgroup = root, self
	if n > 0 {
		affinity = func() int { return n }
	}
	return func() { cgroupRoot, procCgroup, affinity = oldRoot, oldSelf, oldAff }
}

// SetRand fixes the jitter source of b.
func (b *Backoff) SetRand(f func() float64) { b.rand = f }

// ParseVmRSS is parseVmRSS.
var ParseVmRSS = parseVmRSS

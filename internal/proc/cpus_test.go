package proc_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/llemma-prove/llemma-prove/internal/proc"
)

func TestCPUsFromCgroups(t *testing.T) {
	tests := []struct {
		name     string
		self     string            // /proc/self/cgroup
		files    map[string]string // under the cgroup root
		affinity int
		want     int
	}{
		{"v2 unlimited", "0::/job", map[string]string{"job/cpu.max": "max 100000\n"}, 8, 8},
		{"v2 two CPUs", "0::/job", map[string]string{"job/cpu.max": "200000 100000\n"}, 64, 2},
		{"v2 rounds up", "0::/job", map[string]string{"job/cpu.max": "150000 100000\n"}, 64, 2},
		{"v2 at least one", "0::/job", map[string]string{"job/cpu.max": "50000 100000\n"}, 64, 1},
		{"v2 quota without period", "0::/job", map[string]string{"job/cpu.max": "300000\n"}, 64, 3},
		{"v2 ancestor limits", "0::/kubepods/pod/ctr", map[string]string{
			"kubepods/pod/cpu.max":     "200000 100000\n",
			"kubepods/pod/ctr/cpu.max": "max 100000\n",
		}, 64, 2},
		{"v2 inside a cgroup namespace", "0::/not/visible/here", map[string]string{"cpu.max": "300000 100000\n"}, 64, 3},
		{"v2 hybrid under unified", "0::/job", map[string]string{"unified/job/cpu.max": "400000 100000\n"}, 64, 4},
		{"affinity below quota", "0::/job", map[string]string{"job/cpu.max": "400000 100000\n"}, 1, 1},
		{"v1 unlimited", "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc", map[string]string{
			"cpu,cpuacct/docker/abc/cpu.cfs_quota_us":  "-1\n",
			"cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
		}, 16, 16},
		{"v1 four CPUs", "2:cpu:/job\n1:cpuacct:/job", map[string]string{
			"cpu/job/cpu.cfs_quota_us":  "400000\n",
			"cpu/job/cpu.cfs_period_us": "100000\n",
		}, 64, 4},
		{"v1 and v2: the tighter", "5:cpuacct,cpu:/j\n0::/j", map[string]string{
			"cpuacct,cpu/j/cpu.cfs_quota_us":  "300000\n",
			"cpuacct,cpu/j/cpu.cfs_period_us": "100000\n",
			"j/cpu.max":                       "200000 100000\n",
		}, 64, 2},
		{"no cgroup files", "0::/job", nil, 6, 6},
		{"garbage", "0::/job", map[string]string{"job/cpu.max": "lots\n"}, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				path := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			self := filepath.Join(t.TempDir(), "cgroup")
			if err := os.WriteFile(self, []byte(tt.self+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			defer proc.SetCgroupPaths(root, self, tt.affinity)()
			if got := proc.CPUs(); got != tt.want {
				t.Errorf("CPUs() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCPUsHere(t *testing.T) {
	n := proc.CPUs()
	t.Logf("CPUs() = %d (NumCPU %d, GOMAXPROCS %d)", n, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if n < 1 || n > runtime.NumCPU() {
		t.Errorf("CPUs() = %d, NumCPU %d", n, runtime.NumCPU())
	}
}

package benchmarks

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Shard is the part i of N of a split that one process runs. The partition
// is by theorem name (FNV-1a mod N), so it does not depend on the order or
// the number of files, shards are disjoint, and together they cover the
// split. The zero Shard is the whole split.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/N" with 0 <= i < N.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: give i/N with 0 <= i < N, such as 0/4", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Active reports whether the shard is a proper part of the split.
func (s Shard) Active() bool { return s.Count > 1 }

func (s Shard) String() string {
	if s.Count == 0 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the theorem named name belongs to the shard.
func (s Shard) Has(name string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// Filter keeps the theorems of the shard, in order.
func (s Shard) Filter(thms []prover.Theorem) []prover.Theorem {
	if !s.Active() {
		return thms
	}
	var out []prover.Theorem
	for _, t := range thms {
		if s.Has(t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// DetectShard chooses the shard: flag ("i/N", wins), else a Slurm job
// array (SLURM_ARRAY_TASK_ID; the count from shards, else
// SLURM_ARRAY_TASK_COUNT, else SLURM_ARRAY_TASK_MAX-MIN+1; the index is
// relative to SLURM_ARRAY_TASK_MIN), else a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX, with the count from shards). It returns where the
// shard came from, for a line on stderr ("" for no sharding).
func DetectShard(flag string, shards int, getenv func(string) string) (Shard, string, error) {
	if strings.TrimSpace(flag) != "" {
		s, err := ParseShard(flag)
		if err != nil {
			return Shard{}, "", err
		}
		if shards > 0 && shards != s.Count {
			return Shard{}, "", fmt.Errorf("--shard %s and --shards %d disagree", flag, shards)
		}
		return s, "--shard", nil
	}
	atoi := func(k string) (int, bool, error) {
		v := strings.TrimSpace(getenv(k))
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, fmt.Errorf("%s=%q is not a number", k, v)
		}
		return n, true, nil
	}
	if id, ok, err := atoi("SLURM_ARRAY_TASK_ID"); ok || err != nil {
		if err != nil {
			return Shard{}, "", err
		}
		lo, _, err := atoi("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return Shard{}, "", err
		}
		count, src := shards, "--shards"
		if count == 0 {
			c, ok, err := atoi("SLURM_ARRAY_TASK_COUNT")
			if err != nil {
				return Shard{}, "", err
			}
			count, src = c, "SLURM_ARRAY_TASK_COUNT"
			if !ok {
				hi, ok, err := atoi("SLURM_ARRAY_TASK_MAX")
				if err != nil || !ok {
					return Shard{}, "", fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: pass --shards N", id)
				}
				count, src = hi-lo+1, "SLURM_ARRAY_TASK_MIN/MAX"
			}
		}
		s := Shard{Index: id - lo, Count: count}
		if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
			return Shard{}, "", fmt.Errorf("Slurm array task %d (min %d) does not fit %d shards (from %s): use a contiguous array such as --array=0-%d or pass --shard i/N", id, lo, count, src, max(count-1, 0))
		}
		return s, fmt.Sprintf("Slurm array: SLURM_ARRAY_TASK_ID=%d, count from %s", id, src), nil
	}
	if idx, ok, err := atoi("JOB_COMPLETION_INDEX"); ok || err != nil {
		if err != nil {
			return Shard{}, "", err
		}
		if shards < 1 {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX=%d is set (Kubernetes Indexed Job) but not --shards N: pass the Job's completions as --shards", idx)
		}
		s := Shard{Index: idx, Count: shards}
		if s.Index < 0 || s.Index >= s.Count {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX=%d does not fit --shards %d", idx, shards)
		}
		return s, fmt.Sprintf("Kubernetes Indexed Job: JOB_COMPLETION_INDEX=%d, --shards %d", idx, shards), nil
	}
	if shards > 1 {
		return Shard{}, "", fmt.Errorf("--shards %d needs --shard i/%d, a Slurm array task or a Kubernetes Indexed Job", shards, shards)
	}
	return Shard{}, "", nil
}

package main

import "runtime"

func defaultWorkers() int {
	if n := runtime.NumCPU(); n > 0 {
		return n
	}
	return 1
}

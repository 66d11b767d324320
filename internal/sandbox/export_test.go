package sandbox

// FakeNoLandlock makes the helpers started from now on behave as on a kernel
// without Landlock. It returns a func that undoes it.
func FakeNoLandlock() (reset func()) {
	testFakeNoLandlock = true
	return func() { testFakeNoLandlock = false }
}

// SetAvailable replaces Available for Command's Required check and for
// Describe. It returns a func that undoes it.
func SetAvailable(f func() (int, string)) (reset func()) {
	old := availableFunc
	availableFunc = f
	return func() { availableFunc = old }
}

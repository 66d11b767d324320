package sandbox

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rulesetAttr is struct landlock_ruleset_attr up to ABI 6 (scoped). The
// size passed to the kernel follows the ABI, so older kernels accept it.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

// pathBeneathAttr is struct landlock_path_beneath_attr; the kernel's is
// packed (12 bytes) and reads only those, which have the same offsets here.
type pathBeneathAttr struct {
	allowed  uint64
	parentFD int32
}

// Access rights, by the ABI that introduced them.
const (
	fsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsV2 = fsV1 | unix.LANDLOCK_ACCESS_FS_REFER
	fsV3 = fsV2 | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	fsV5 = fsV3 | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	// fileRights are the rights that apply to a file (not a directory);
	// a path-beneath rule on a file may carry no others.
	fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	readRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR
	devNullRights = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	netTCP = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	scopes = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL

	// maxABI is the newest ABI whose rights this package knows; newer
	// kernels are used as this one.
	maxABI = 7
)

// landlockABI asks the kernel for its Landlock ABI version.
func landlockABI() (int, error) {
	r, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func unavailableReason(err error) string {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return "kernel without Landlock"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "Landlock disabled at boot (add landlock to lsm=)"
	case err != nil:
		return "Landlock unavailable: " + err.Error()
	default:
		return "kernel without Landlock"
	}
}

// handledFS is the filesystem access this package handles at abi.
func handledFS(abi int) uint64 {
	switch {
	case abi >= 5:
		return fsV5
	case abi >= 3:
		return fsV3
	case abi >= 2:
		return fsV2
	default:
		return fsV1
	}
}

// restrictThread confines the calling thread (and what it execs) to w. The
// caller must have locked its OS thread and set no_new_privs. It returns the
// ABI used, 0 when Landlock is unavailable (not an error unless Required).
func restrictThread(w *wire) (int, error) {
	abi, err := landlockABI()
	if w.FakeNoLandlock {
		abi, err = 0, unix.ENOSYS
	}
	if err != nil || abi < 1 {
		if w.Required {
			return 0, fmt.Errorf("landlock is required but unavailable: %s", unavailableReason(err))
		}
		return 0, nil
	}
	if w.Required && w.NoNetwork && abi < 4 {
		return 0, fmt.Errorf("landlock ABI %d cannot deny TCP connections (needs ABI 4) and the policy is required", abi)
	}
	abi = min(abi, maxABI)
	attr := rulesetAttr{handledFS: handledFS(abi)}
	size := unsafe.Sizeof(attr.handledFS)
	if abi >= 4 {
		size += unsafe.Sizeof(attr.handledNet)
		if w.NoNetwork {
			attr.handledNet = netTCP // and no net rule: nothing allowed
		}
	}
	if abi >= 6 {
		size += unsafe.Sizeof(attr.scoped)
		attr.scoped = unix.LANDLOCK_SCOPE_SIGNAL
		if w.NoNetwork {
			attr.scoped = scopes
		}
	}
	r, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return 0, fmt.Errorf("creating the landlock ruleset (ABI %d): %w", abi, e)
	}
	rfd := int(r)
	defer unix.Close(rfd)

	add := func(path string, rights uint64, mustExist bool) error {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if !mustExist && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)) {
				return nil
			}
			return fmt.Errorf("opening %s for a landlock rule: %w", path, err)
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			rights &= fileRights
		}
		rule := pathBeneathAttr{allowed: rights & attr.handledFS, parentFD: int32(fd)}
		_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rfd), unix.LANDLOCK_RULE_PATH_BENEATH,
			uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("adding a landlock rule for %s: %w", path, e)
		}
		return nil
	}
	for _, p := range w.ReadOnly {
		if err := add(p, readRights, false); err != nil {
			return 0, err
		}
	}
	for _, p := range w.ReadWrite {
		if err := add(p, attr.handledFS, true); err != nil {
			return 0, err
		}
	}
	if err := add(os.DevNull, devNullRights, false); err != nil {
		return 0, err
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rfd), 0, 0); e != 0 {
		return 0, fmt.Errorf("landlock_restrict_self: %w", e)
	}
	return abi, nil
}
